"""Datasets and mini-batches: the shipped 8×8 digits, MNIST and Fashion-MNIST (IDX files), minibatches().

Every loader returns ``((x_train, t_train), (x_test, t_test))`` as the book's ``load_mnist`` does:
images ``(N, D)`` when ``flatten`` else ``(N, 1, H, W)``; float32 in [0, 1] when ``normalize`` else
the raw uint8 pixels; labels int64 of shape ``(N,)``, or float32 one-hot rows ``(N, 10)`` when
``one_hot_label``.

MNIST and Fashion-MNIST are looked for, in order, in ``data_dir``, in ``$MINIGRAD_DATA``, in the
cache (``$XDG_CACHE_HOME/minigrad`` or ``~/.cache/minigrad``), in the system directory where
Debian's ``dataset-fashion-mnist`` installs Fashion-MNIST, and are otherwise downloaded from several
mirrors (needs the ``download`` extra: pooch), checked against the SHA-256 of the decompressed
files and cached as a plain ``.npz``. No pickle anywhere.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import io
import math
import os
import shutil
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np

from ._files import atomic_write, read_npz
from .arguments import generator, integer

__all__ = [
    "minibatches",
    "load_digits",
    "load_mnist",
    "load_fashion_mnist",
    "DATASETS",
    "load_idx_dataset",
    "read_idx",
    "parse_idx",
    "cache_dir",
    "IdxDataset",
    "IdxFormatError",
    "DataNotFoundError",
    "MNIST",
    "FASHION_MNIST",
    "FASHION_MNIST_CLASSES",
    "DATA_ENV",
]

PathLike = Union[str, "os.PathLike[str]"]
Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

DATA_ENV = "MINIGRAD_DATA"
"""Environment variable naming a directory that holds dataset files (or one sub-directory per dataset)."""


class IdxFormatError(ValueError):
    """A file that is not a well-formed IDX file of the expected shape (bad magic, dims, truncated, ...)."""


class DataNotFoundError(FileNotFoundError):
    """A dataset found nowhere and not downloadable; the message says where to put the files."""


# ----------------------------------------------------------------------------------------------
# mini-batches


def minibatches(
    x: np.ndarray,
    t: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x_batch, t_batch) covering every sample once, in a seeded random order; the last batch may be smaller."""
    n = len(x)
    if len(t) != n:
        raise ValueError(f"minibatches: x has {n} samples but t has {len(t)}")
    batch_size = integer(batch_size, "minibatches", "batch_size", least=1)
    order = generator(rng, "minibatches").permutation(n) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            yield x[start : start + batch_size], t[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            yield x[idx], t[idx]


# ----------------------------------------------------------------------------------------------
# shaping shared by every loader


def _images(x: np.ndarray, *, normalize: bool, flatten: bool, scale: float) -> np.ndarray:
    """(N, H, W) raw pixels -> float32 x / scale (or the raw uint8), as (N, H·W) or (N, 1, H, W)."""
    y = (x.astype(np.float32) / np.float32(scale)) if normalize else x.copy()
    return y.reshape(len(y), -1) if flatten else y.reshape(len(y), 1, *x.shape[1:])


def _labels(t: np.ndarray, *, one_hot_label: bool, n_classes: int) -> np.ndarray:
    """(N,) class labels -> int64 labels, or float32 one-hot rows (N, n_classes)."""
    labels = t.astype(np.int64)
    if not one_hot_label:
        return labels
    one_hot = np.zeros((len(labels), n_classes), dtype=np.float32)
    one_hot[np.arange(len(labels)), labels] = 1.0
    return one_hot


def _shape(
    raw: dict[str, np.ndarray], *, normalize: bool, flatten: bool, one_hot_label: bool, scale: float, n_classes: int
) -> Split:
    """The loaders' common return value from raw uint8 arrays keyed x_train, t_train, x_test, t_test."""
    img = dict(normalize=normalize, flatten=flatten, scale=scale)
    lab = dict(one_hot_label=one_hot_label, n_classes=n_classes)
    return (
        (_images(raw["x_train"], **img), _labels(raw["t_train"], **lab)),
        (_images(raw["x_test"], **img), _labels(raw["t_test"], **lab)),
    )


# ----------------------------------------------------------------------------------------------
# the shipped 8×8 digits

DIGITS_FILE = "digits.csv.gz"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
DIGITS_SAMPLES = 1797


def load_digits(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    test_size: int = 360,
    seed: int = 0,
) -> Split:
    """The shipped UCI 8×8 digits (1,797 samples, pixels 0..16): x (N, 64) or (N, 1, 8, 8), /16 when normalize.

    The split is a permutation drawn by ``numpy.random.default_rng(seed)``: its first ``test_size``
    samples are the test set, the rest the training set (defaults: 1,437 train / 360 test).
    """
    if isinstance(test_size, bool) or not isinstance(test_size, (int, np.integer)) or not 0 < test_size < DIGITS_SAMPLES:
        raise ValueError(
            f"load_digits: test_size must be an integer in 1..{DIGITS_SAMPLES - 1}, got {test_size!r}"
        )
    rng = generator(seed, "load_digits", "seed")
    resource = importlib.resources.files("minigrad") / "data" / DIGITS_FILE
    packed = resource.read_bytes()
    digest = hashlib.sha256(packed).hexdigest()
    if digest != DIGITS_SHA256:
        raise IdxFormatError(
            f"load_digits: the shipped {DIGITS_FILE} is damaged: SHA-256 {digest}, expected {DIGITS_SHA256}; "
            "reinstall minigrad"
        )
    table = np.loadtxt(io.BytesIO(gzip.decompress(packed)), delimiter=",", dtype=np.uint8)
    x, t = table[:, :64].reshape(-1, 8, 8), table[:, 64]
    order = rng.permutation(len(t))
    test, train = order[:test_size], order[test_size:]
    raw = {"x_train": x[train], "t_train": t[train], "x_test": x[test], "t_test": t[test]}
    return _shape(raw, normalize=normalize, flatten=flatten, one_hot_label=one_hot_label, scale=16.0, n_classes=10)


# ----------------------------------------------------------------------------------------------
# IDX files

_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(
    data: bytes, *, shape: tuple[int | None, ...] | None = None, name: str = "IDX data", header_only: bool = False
) -> np.ndarray:
    """The array in IDX bytes (big-endian header: 0, 0, type code, ndim, then ndim uint32 dims, then the data).

    ``shape`` (None for any size) checks the header's dims; the data must be exactly as long as they say.
    With ``header_only``, only the header is checked (and an empty array returned).
    """
    if len(data) < 4:
        raise IdxFormatError(f"{name}: truncated: {len(data)} bytes, too short for an IDX magic number")
    magic = int.from_bytes(data[:4], "big")
    code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or code not in _IDX_TYPES or ndim == 0:
        raise IdxFormatError(
            f"{name}: not an IDX file: magic number 0x{magic:08x} (expected 0x0000TTNN with type code TT in "
            f"{', '.join(f'0x{c:02x}' for c in _IDX_TYPES)} and NN >= 1 dimensions)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(f"{name}: truncated: the header of {ndim} dimensions needs {header} bytes, got {len(data)}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if shape is not None and (
        len(dims) != len(shape) or any(want is not None and want != got for want, got in zip(shape, dims))
    ):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise IdxFormatError(f"{name}: wrong dimensions: the header says {tuple(dims)}, expected {want}")
    dtype = _IDX_TYPES[code]
    if header_only:
        return np.empty(0, dtype=dtype)
    need = _idx_data_bytes(dims, dtype)
    have = len(data) - header
    if have < need:
        raise IdxFormatError(
            f"{name}: truncated: the header says {tuple(dims)} ({need} bytes of data), but only {have} bytes follow"
        )
    if have > need:
        raise IdxFormatError(
            f"{name}: corrupt: the header says {tuple(dims)} ({need} bytes of data), but {have} bytes follow"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))  # a native-order, writable copy


def _idx_data_bytes(dims: tuple[int, ...], dtype: np.dtype) -> int:
    """The bytes of data an IDX header's dims claim, exactly (a Python int: no wrap-around, however absurd the dims)."""
    return math.prod(dims) * dtype.itemsize


def _idx_size(shape: tuple[int, ...]) -> int:
    """The bytes of an IDX file of unsigned bytes with this shape: magic, dims, data."""
    return 4 + 4 * len(shape) + _idx_data_bytes(shape, np.dtype(np.uint8))


DEFLATE_RATIO = 1032
"""The most a deflate stream can expand: no gzip file of n bytes decompresses to more than 1032·n."""


def _read_bytes(path: PathLike, limit: int | None = None) -> bytes:
    """A file's bytes, gunzipped as a stream when it starts with the gzip magic number (whatever its name).

    With a `limit`, at most limit + 1 bytes are ever decompressed or read: more is an IdxFormatError,
    so a small .gz cannot expand into gigabytes in memory.
    """
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        try:
            f: Any = gzip.GzipFile(fileobj=raw) if gz else raw
            data = f.read() if limit is None else f.read(limit + 1)
        except (OSError, EOFError, zlib.error) as e:
            raise IdxFormatError(f"{path}: corrupt or truncated gzip data ({e})") from None
    if limit is not None and len(data) > limit:
        raise IdxFormatError(f"{path}: corrupt: more than the {limit} bytes expected" + (" once decompressed" if gz else ""))
    return data


def read_idx(path: PathLike, *, shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """The array in an IDX file, plain or .gz (detected by content, decompressed as a stream); ``shape`` as in parse_idx.

    The header is read first: the data is read only once the dimensions are checked, and never
    beyond what they say (one byte more shows trailing data), so memory stays within the array's size.
    """
    name = str(path)
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        try:
            f: Any = gzip.GzipFile(fileobj=raw) if gz else raw
            head = f.read(4)
            if len(head) == 4 and head[:2] == b"\x00\x00" and head[2] in _IDX_TYPES and head[3] > 0:
                head += f.read(4 * head[3])
                if len(head) == 4 + 4 * head[3]:
                    dims = struct.unpack(f">{head[3]}I", head[4:])
                    parse_idx(head, shape=shape, name=name, header_only=True)
                    need = _idx_data_bytes(dims, _IDX_TYPES[head[2]])
                    size = os.fstat(raw.fileno()).st_size
                    if need > size * DEFLATE_RATIO or (not gz and need > size - len(head)):  # refused before reading:
                        held = f"more than a gzip file of {size} bytes can hold" if gz else f"but only {size - len(head)} bytes follow"
                        raise IdxFormatError(f"{name}: truncated: the header says {tuple(dims)} ({need} bytes of data), {held}")
                    head += f.read(need + 1)
        except (OSError, EOFError, zlib.error) as e:
            raise IdxFormatError(f"{path}: corrupt or truncated gzip data ({e})") from None
    return parse_idx(head, shape=shape, name=name)


# ----------------------------------------------------------------------------------------------
# MNIST-like datasets: where to find them, how to check them

_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "t_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "t_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class IdxDataset:
    """An MNIST-like dataset in four IDX files: where it may live and what its decompressed files hash to."""

    name: str
    sha256: dict[str, str]  # file name without .gz -> SHA-256 of the decompressed file
    mirrors: tuple[str, ...] = ()  # base URLs; file name + ".gz" is appended
    n_train: int = 60000
    n_test: int = 10000
    image_shape: tuple[int, int] = (28, 28)
    n_classes: int = 10
    system_dirs: tuple[str, ...] = ()
    hint: str = ""  # one more line for the not-found message

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape each of the four arrays must have."""
        return {
            "x_train": (self.n_train, *self.image_shape),
            "t_train": (self.n_train,),
            "x_test": (self.n_test, *self.image_shape),
            "t_test": (self.n_test,),
        }


MNIST = IdxDataset(
    name="mnist",
    # SHA-256 of the decompressed files as published by LeCun, Cortes and Burges.
    sha256={
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://yann.lecun.com/exdb/mnist/",
    ),
)

FASHION_MNIST = IdxDataset(
    name="fashion-mnist",
    # SHA-256 of the decompressed files (computed from Debian's dataset-fashion-mnist, whose .gz files
    # are recompressed and so hash differently from upstream's).
    sha256={
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    hint="On Debian or Ubuntu: apt-get install dataset-fashion-mnist (installs into /usr/share/datasets/fashion-mnist).",
)


def cache_dir() -> Path:
    """Where downloads are cached: $XDG_CACHE_HOME/minigrad, else ~/.cache/minigrad."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "minigrad"


def _find_file(directory: Path, stem: str) -> Path | None:
    """stem, stem.gz, or the dotted spelling (train-images.idx3-ubyte) some copies use, in directory."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem + ".gz", stem, dotted + ".gz", dotted):
        if (directory / name).is_file():
            return directory / name
    return None


def _check_arrays(spec: IdxDataset, raw: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """raw, once every array has its expected shape, uint8 dtype, and labels below n_classes."""
    for key, shape in spec.expected_shapes().items():
        a = raw.get(key)
        if a is None or a.shape != shape or a.dtype != np.uint8:
            got = "missing" if a is None else f"{a.dtype}{a.shape}"
            raise IdxFormatError(f"{where}: {key} must be uint8{shape}, got {got}")
    for key in ("t_train", "t_test"):
        if raw[key].max(initial=0) >= spec.n_classes:
            raise IdxFormatError(f"{where}: {key} holds label {raw[key].max()}, expected 0..{spec.n_classes - 1}")
    return raw


def _read_dir(spec: IdxDataset, directory: Path) -> dict[str, np.ndarray]:
    """The four arrays from IDX files in directory (each checked for magic number and dimensions)."""
    raw = {}
    for key, stem in _FILES.items():
        path = _find_file(directory, stem)
        if path is None:
            raise DataNotFoundError(f"{directory / stem}[.gz] does not exist")
        raw[key] = read_idx(path, shape=spec.expected_shapes()[key])
    return _check_arrays(spec, raw, str(directory))


def _read_cache(spec: IdxDataset, path: Path) -> dict[str, np.ndarray]:
    """The four arrays from a cached .npz (no pickle; every member's header checked before its data is read)."""
    raw = read_npz(str(path), "cache", IdxFormatError, what=f"{spec.name} cache")
    return _check_arrays(spec, {key: raw[key] for key in _FILES if key in raw}, str(path))


def _download(spec: IdxDataset, cache_file: Path, progress: bool) -> dict[str, np.ndarray]:
    """Fetch the four files from the first mirror that serves each intact, then cache them as .npz."""
    try:
        import pooch
    except ImportError:
        raise DataNotFoundError(
            "downloading needs the optional 'download' extra: pip install pooch (in a minigrad checkout: pip install '.[download]')"
        ) from None
    bar = False
    if progress:
        try:
            import tqdm  # noqa: F401  (pooch draws its progress bar with tqdm)

            bar = True
        except ImportError:
            pass
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # library code stays quiet; the CLI reports what happens
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{spec.name}-download-", dir=cache_file.parent))
    raw: dict[str, np.ndarray] = {}
    try:
        for key, stem in _FILES.items():
            failures = []
            for i, mirror in enumerate(spec.mirrors):
                url = mirror.rstrip("/") + "/" + stem + ".gz"
                try:
                    downloader = pooch.HTTPDownloader(progressbar=bar, timeout=60) if url.startswith("http") else None
                    path = pooch.retrieve(url, known_hash=None, fname=f"{i}-{stem}.gz", path=workdir, downloader=downloader)
                    data = _read_bytes(path, limit=_idx_size(spec.expected_shapes()[key]))
                    digest = hashlib.sha256(data).hexdigest()
                    if digest != spec.sha256[stem]:
                        failures.append(
                            f"{url}: SHA-256 of the decompressed file is {digest}, expected {spec.sha256[stem]}"
                        )
                        continue
                    raw[key] = parse_idx(data, shape=spec.expected_shapes()[key], name=url)
                    break
                except Exception as e:  # any network or format failure: try the next mirror
                    failures.append(f"{url}: {type(e).__name__}: {e}")
            else:
                raise DataNotFoundError(
                    f"could not download {stem}:\n    - " + ("\n    - ".join(failures) or "no mirrors configured")
                )
        _check_arrays(spec, raw, "download")
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cache_file, lambda f: np.savez(f, **raw))
    finally:
        logger.setLevel(level)
        shutil.rmtree(workdir, ignore_errors=True)
    return raw


def load_idx_dataset(
    spec: IdxDataset,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    data_dir: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = False,
) -> Split:
    """An MNIST-like dataset found locally, in the cache, or downloaded (see the module docstring for the order)."""
    raw = _locate(spec, data_dir, download=download, progress=progress)
    return _shape(
        raw, normalize=normalize, flatten=flatten, one_hot_label=one_hot_label, scale=255.0, n_classes=spec.n_classes
    )


def _locate(spec: IdxDataset, data_dir: PathLike | None, *, download: bool, progress: bool) -> dict[str, np.ndarray]:
    """The raw uint8 arrays from the first place that has them: data_dir, $MINIGRAD_DATA, cache, system, mirrors."""
    looked: list[str] = []

    def from_dir(d: Path, label: str) -> dict[str, np.ndarray] | None:
        if all(_find_file(d, stem) for stem in _FILES.values()):
            return _read_dir(spec, d)
        looked.append(f"{d} ({label}): " + ("no such directory" if not d.is_dir() else "not all four files there"))
        return None

    if data_dir is not None:  # asked for by name: that directory or an error, never silently another copy
        base = Path(data_dir)
        for d in ([base / spec.name] if base.name != spec.name else []) + [base]:
            if all(_find_file(d, stem) for stem in _FILES.values()):
                return _read_dir(spec, d)
        files = ", ".join(f"{stem}[.gz]" for stem in _FILES.values())
        why = "no such directory" if not base.is_dir() else f"neither it nor {base / spec.name} holds all of {files}"
        raise DataNotFoundError(
            f"{spec.name} not found in data_dir {base}: {why}.\nPut the four files ({files}) in a directory and pass "
            f"it as data_dir (minigrad train --data-dir DIR), or leave data_dir out to look in ${DATA_ENV}, the cache, "
            "the system's datasets and the mirrors."
        )
    bases = [("data_dir", data_dir), (f"${DATA_ENV}", os.environ.get(DATA_ENV) or None)]
    for label, base in bases:
        if base is None:
            looked.append(f"{label}: not given" if label == "data_dir" else f"{label}: not set")
            continue
        base = Path(base)
        for d in ([base / spec.name] if base.name != spec.name else []) + [base]:
            raw = from_dir(d, label)
            if raw is not None:
                return raw
    cache_file = cache_dir() / f"{spec.name}.npz"
    if cache_file.is_file():
        try:
            return _read_cache(spec, cache_file)
        except IdxFormatError as e:  # set aside (kept for a look, never read again), and on to the next source
            aside = cache_file.with_name(cache_file.name + ".corrupt")
            try:
                os.replace(cache_file, aside)
                looked.append(f"{cache_file} (cache): unusable, moved to {aside}: {e}")
            except OSError as moved:
                looked.append(f"{cache_file} (cache): unusable ({e}); could not move it aside: {moved}")
    else:
        looked.append(f"{cache_file} (cache): absent")
    for d in spec.system_dirs:
        raw = from_dir(Path(d), "system")
        if raw is not None:
            return raw
    why = "Downloading is switched off."
    if download:
        try:
            return _download(spec, cache_file, progress)
        except DataNotFoundError as e:
            why = f"Download failed: {e}"
    files = ", ".join(f"{stem}[.gz]" for stem in _FILES.values())
    raise DataNotFoundError(
        f"{spec.name} not found. Looked in:\n  - " + "\n  - ".join(looked) + f"\n{why}\n"
        f"Put the four files ({files}) in a directory and pass it as data_dir "
        f"(minigrad train --data-dir DIR), or set ${DATA_ENV}=DIR."
        + (f"\n{spec.hint}" if spec.hint else "")
    )


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    data_dir: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = False,
) -> Split:
    """MNIST as the book loads it: x (60000, 784) / (10000, 784) float32 in [0, 1], t int64 labels (or one-hot)."""
    return load_idx_dataset(MNIST, normalize, flatten, one_hot_label, data_dir, download=download, progress=progress)


def load_fashion_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    data_dir: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = False,
) -> Split:
    """Fashion-MNIST, shaped like load_mnist: x (60000, 784) / (10000, 784) float32 in [0, 1], t int64 labels."""
    return load_idx_dataset(
        FASHION_MNIST, normalize, flatten, one_hot_label, data_dir, download=download, progress=progress
    )


FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
"""Fashion-MNIST's class names, by label 0-9."""

DATASETS = {"digits": load_digits, "mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
"""Each loader by the name the command line and the examples use."""
