"""minigrad.datasets: the shipped digits, the IDX reader, finding/caching/downloading MNIST-like data, minibatches."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import socket
import struct
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import datasets
from minigrad.datasets import (
    DataNotFoundError,
    IdxDataset,
    IdxFormatError,
    load_digits,
    load_idx_dataset,
    minibatches,
    parse_idx,
    read_idx,
)

IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
             np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(a: np.ndarray, code: int | None = None) -> bytes:
    """The IDX encoding of a, written independently of minigrad: magic, big-endian dims, big-endian data."""
    big = a.astype(a.dtype.newbyteorder(">")) if a.dtype.itemsize > 1 else a
    code = IDX_CODES[big.dtype] if code is None else code
    return bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + big.tobytes()


@pytest.fixture(autouse=True)
def isolated_places(tmp_path, monkeypatch):
    """No test sees the user's $MINIGRAD_DATA or cache: the cache lives in the test's tmp dir."""
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


# ---------------------------------------------------------------------------------------------- digits


def test_digits_default_split_is_1437_train_and_360_test_normalized_float32():
    (x, t), (x_test, t_test) = load_digits()
    assert x.shape == (1437, 64) and x_test.shape == (360, 64)
    assert x.dtype == np.float32 and x_test.dtype == np.float32
    assert t.shape == (1437,) and t_test.shape == (360,) and t.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(np.concatenate([t, t_test]))) == set(range(10))


def test_digits_split_covers_every_sample_once_with_the_known_class_counts():
    (_, t), (_, t_test) = load_digits()
    counts = np.bincount(np.concatenate([t, t_test]), minlength=10)
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    (x_raw, _), (x_raw_test, _) = load_digits(normalize=False)
    rows = {r.tobytes() for r in np.concatenate([x_raw, x_raw_test])}
    assert len(rows) > 1700  # train and test are disjoint rows of one table, not resampled


def test_digits_raw_pixels_are_uint8_0_to_16_and_normalize_divides_by_16():
    (x_raw, _), _ = load_digits(normalize=False)
    (x, _), _ = load_digits()
    assert x_raw.dtype == np.uint8 and x_raw.max() == 16
    np.testing.assert_array_equal(x * 16, x_raw.astype(np.float32))


def test_digits_unflattened_are_n_1_8_8_images_of_the_same_pixels():
    (x, _), (x_test, _) = load_digits(flatten=False)
    (x_flat, _), _ = load_digits()
    assert x.shape == (1437, 1, 8, 8) and x_test.shape == (360, 1, 8, 8)
    np.testing.assert_array_equal(x.reshape(1437, 64), x_flat)


def test_digits_one_hot_labels_are_float32_rows_marking_the_label():
    (_, t), _ = load_digits()
    (_, t_hot), (_, t_hot_test) = load_digits(one_hot_label=True)
    assert t_hot.shape == (1437, 10) and t_hot.dtype == np.float32 and t_hot_test.shape == (360, 10)
    np.testing.assert_array_equal(t_hot.sum(axis=1), 1.0)
    np.testing.assert_array_equal(t_hot.argmax(axis=1), t)


def test_digits_split_is_fixed_by_the_seed():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][1], b[1][1])
    assert not np.array_equal(a[1][0], c[1][0])


def test_digits_test_size_sets_the_split():
    (x, _), (x_test, _) = load_digits(test_size=797)
    assert len(x) == 1000 and len(x_test) == 797


@pytest.mark.parametrize("test_size", [0, 1797, -5, 0.2, True])
def test_digits_rejects_a_test_size_that_is_not_a_count_of_samples(test_size):
    with pytest.raises(ValueError, match="load_digits: test_size"):
        load_digits(test_size=test_size)


# ---------------------------------------------------------------------------------------------- IDX


@given(
    hnp.arrays(
        dtype=st.sampled_from(list(IDX_CODES)),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
        elements={"allow_nan": False},
    )
)
def test_parse_idx_reads_back_any_array_written_in_idx(a):
    b = parse_idx(idx_bytes(a))
    assert b.shape == a.shape and b.dtype == a.dtype.newbyteorder("=")
    np.testing.assert_array_equal(b, a)
    assert b.flags.writeable


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_reads_plain_and_gzipped_files_by_content(tmp_path, compress):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = idx_bytes(a)
    path = tmp_path / "images-idx3-ubyte"  # the name says nothing; the gzip magic number decides
    path.write_bytes(gzip.compress(data) if compress else data)
    np.testing.assert_array_equal(read_idx(path, shape=(None, 3, 4)), a)


def test_read_idx_rejects_a_wrong_magic_number(tmp_path):
    a = np.zeros((2, 2), np.uint8)
    bad = [b"\x01" + idx_bytes(a)[1:], idx_bytes(a, code=0x07), b"\x00\x00\x08\x00" + b"\x00" * 8, b"GIF89a" + b"\0" * 20]
    for i, data in enumerate(bad):
        path = tmp_path / f"bad{i}"
        path.write_bytes(data)
        with pytest.raises(IdxFormatError, match=rf"{path}: not an IDX file: magic number"):
            read_idx(path)


def test_read_idx_rejects_truncated_data_saying_how_much_is_missing(tmp_path):
    data = idx_bytes(np.ones((10, 28, 28), np.uint8))
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(data[:-100])
    with pytest.raises(IdxFormatError, match=r"truncated: the header says \(10, 28, 28\) \(7840 bytes of data\), but only 7740"):
        read_idx(path)


def test_read_idx_rejects_a_truncated_header(tmp_path):
    path = tmp_path / "header-only"
    path.write_bytes(idx_bytes(np.ones((10, 28, 28), np.uint8))[:9])
    with pytest.raises(IdxFormatError, match="truncated: the header of 3 dimensions needs 16 bytes, got 9"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(IdxFormatError, match="truncated"):
        read_idx(path)


def test_read_idx_rejects_bytes_beyond_what_the_header_says(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.ones(5, np.uint8)) + b"\x00")
    with pytest.raises(IdxFormatError, match=r"corrupt: the header says \(5,\) \(5 bytes of data\), but 6 bytes follow"):
        read_idx(path)


def test_read_idx_rejects_dimensions_other_than_expected(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(idx_bytes(np.ones((3, 28, 27), np.uint8)))
    with pytest.raises(IdxFormatError, match=r"wrong dimensions: the header says \(3, 28, 27\), expected \(any, 28, 28\)"):
        read_idx(path, shape=(None, 28, 28))
    with pytest.raises(IdxFormatError, match=r"wrong dimensions: the header says \(3, 28, 27\), expected \(any,\)"):
        read_idx(path, shape=(None,))


def test_read_idx_rejects_corrupt_gzip_data(tmp_path):
    packed = gzip.compress(idx_bytes(np.ones((4, 4), np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(IdxFormatError, match="corrupt or truncated gzip data"):
        read_idx(path)


# ---------------------------------------------------------------------------------------------- finding data

TINY_SHAPES = {"x_train": (6, 4, 3), "t_train": (6,), "x_test": (4, 4, 3), "t_test": (4,)}


def tiny_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        k: rng.integers(0, 256 if k.startswith("x") else 3, size=shape, dtype=np.uint8) for k, shape in TINY_SHAPES.items()
    }


def tiny_spec(**changes) -> IdxDataset:
    """A 3-class dataset of 4×3 images, 6 train and 4 test, whose decompressed files hash as tiny_arrays(0)."""
    sha = {datasets._FILES[k]: hashlib.sha256(idx_bytes(a)).hexdigest() for k, a in tiny_arrays().items()}
    spec = IdxDataset(name="tiny", sha256=sha, n_train=6, n_test=4, image_shape=(4, 3), n_classes=3)
    return dataclasses.replace(spec, **changes)


def write_files(directory: Path, arrays: dict[str, np.ndarray], compress: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for key, a in arrays.items():
        stem = datasets._FILES[key]
        (directory / (stem + ".gz" if compress else stem)).write_bytes(gzip.compress(idx_bytes(a)) if compress else idx_bytes(a))
    return directory


def test_idx_dataset_loads_from_data_dir_shaped_like_the_book(tmp_path):
    raw = tiny_arrays()
    write_files(tmp_path / "d", raw)
    (x, t), (x_test, t_test) = load_idx_dataset(tiny_spec(), data_dir=tmp_path / "d", download=False)
    assert x.shape == (6, 12) and x.dtype == np.float32 and x_test.shape == (4, 12)
    np.testing.assert_array_equal(x, raw["x_train"].reshape(6, 12) / np.float32(255))
    np.testing.assert_array_equal(t, raw["t_train"].astype(np.int64))
    (x4, t_hot), _ = load_idx_dataset(tiny_spec(), False, False, True, data_dir=tmp_path / "d", download=False)
    assert x4.shape == (6, 1, 4, 3) and x4.dtype == np.uint8 and t_hot.shape == (6, 3)
    np.testing.assert_array_equal(x4[:, 0], raw["x_train"])


def test_idx_dataset_reads_plain_files_and_the_dotted_file_names(tmp_path):
    raw = tiny_arrays()
    d = write_files(tmp_path / "d", raw, compress=False)
    (d / "t10k-images-idx3-ubyte").rename(d / "t10k-images.idx3-ubyte")
    _, (x_test, _) = load_idx_dataset(tiny_spec(), False, data_dir=d, download=False)
    np.testing.assert_array_equal(x_test.reshape(4, 4, 3), raw["x_test"])


def test_idx_dataset_looks_in_data_dir_then_env_then_cache_then_system(tmp_path, monkeypatch):
    first, second, third, fourth = (tiny_arrays(seed) for seed in range(4))
    write_files(tmp_path / "arg", first)
    write_files(tmp_path / "env" / "tiny", second)  # $MINIGRAD_DATA/<name>/ works as well as $MINIGRAD_DATA/
    write_files(tmp_path / "system", fourth)
    datasets.cache_dir().mkdir(parents=True, exist_ok=True)
    np.savez(datasets.cache_dir() / "tiny.npz", **third)
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path / "env"))
    spec = tiny_spec(system_dirs=(str(tmp_path / "system"),))

    def t_train(**kw):
        return load_idx_dataset(spec, download=False, **kw)[0][1]

    np.testing.assert_array_equal(t_train(data_dir=tmp_path / "arg"), first["t_train"])
    with pytest.raises(DataNotFoundError, match=r"tiny not found in data_dir .*nowhere: no such directory"):
        t_train(data_dir=tmp_path / "nowhere")  # a data_dir asked for by name is used or an error, never another copy
    np.testing.assert_array_equal(t_train(), second["t_train"])
    monkeypatch.delenv(datasets.DATA_ENV)
    np.testing.assert_array_equal(t_train(), third["t_train"])
    (datasets.cache_dir() / "tiny.npz").unlink()
    np.testing.assert_array_equal(t_train(), fourth["t_train"])


def test_idx_dataset_rejects_files_of_the_wrong_size_or_labels(tmp_path):
    raw = tiny_arrays()
    write_files(tmp_path / "d", {**raw, "t_test": np.zeros(5, np.uint8)})
    with pytest.raises(IdxFormatError, match=r"t10k-labels-idx1-ubyte.gz: wrong dimensions: the header says \(5,\), expected \(4,\)"):
        load_idx_dataset(tiny_spec(), data_dir=tmp_path / "d", download=False)
    write_files(tmp_path / "e", {**raw, "t_train": np.full(6, 7, np.uint8)})
    with pytest.raises(IdxFormatError, match="t_train holds label 7, expected 0..2"):
        load_idx_dataset(tiny_spec(), data_dir=tmp_path / "e", download=False)


def test_not_found_says_where_it_looked_and_where_to_put_the_files(tmp_path):
    spec = dataclasses.replace(datasets.FASHION_MNIST, system_dirs=(str(tmp_path / "no-system"),))
    with pytest.raises(DataNotFoundError) as e:
        load_idx_dataset(spec, download=False)
    msg = str(e.value)
    for needed in (
        "$MINIGRAD_DATA: not set",
        str(tmp_path / "cache" / "minigrad" / "fashion-mnist.npz"),
        str(tmp_path / "no-system"),
        "Downloading is switched off",
        "train-images-idx3-ubyte[.gz]",
        "--data-dir DIR",
        "apt-get install dataset-fashion-mnist",
    ):
        assert needed in msg


def test_load_mnist_without_files_or_download_raises_data_not_found(tmp_path):
    with pytest.raises(DataNotFoundError, match="mnist not found"):
        datasets.load_mnist(data_dir=tmp_path, download=False)


# ---------------------------------------------------------------------------------------------- downloading


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def test_download_skips_a_tampered_mirror_verifies_the_good_one_and_caches_plain_arrays(server, tmp_path):
    url, root = server
    raw = tiny_arrays()
    write_files(root / "good", raw)
    tampered = {**raw, "x_train": raw["x_train"] ^ np.uint8(1)}  # a valid IDX file with other pixels
    write_files(root / "bad", tampered)
    spec = tiny_spec(mirrors=(url + "bad/", url + "good/"))
    (x, t), (x_test, t_test) = load_idx_dataset(spec, False)
    np.testing.assert_array_equal(x.reshape(6, 4, 3), raw["x_train"])
    cache = tmp_path / "cache" / "minigrad" / "tiny.npz"
    with np.load(cache, allow_pickle=False) as f:
        assert sorted(f.files) == ["t_test", "t_train", "x_test", "x_train"]
        np.testing.assert_array_equal(f["x_train"], raw["x_train"])
    assert sorted(p.name for p in cache.parent.iterdir()) == ["tiny.npz"]  # no temp files left behind
    # the cache now answers without any mirror
    (_, t_again), _ = load_idx_dataset(tiny_spec(mirrors=(closed_port_url(),)), download=False)
    np.testing.assert_array_equal(t_again, raw["t_train"])


def test_download_of_only_tampered_files_fails_naming_the_digest_and_caches_nothing(server, tmp_path):
    url, root = server
    raw = tiny_arrays()
    write_files(root / "bad", {**raw, "t_test": (raw["t_test"] + 1) % 3})
    spec = tiny_spec(mirrors=(url + "bad/",))
    with pytest.raises(DataNotFoundError) as e:
        load_idx_dataset(spec)
    msg = str(e.value)
    assert "could not download t10k-labels-idx1-ubyte" in msg
    assert f"{url}bad/t10k-labels-idx1-ubyte.gz: SHA-256 of the decompressed file is" in msg
    assert spec.sha256["t10k-labels-idx1-ubyte"] in msg
    assert "Put the four files" in msg
    assert not (tmp_path / "cache" / "minigrad" / "tiny.npz").exists()


def test_download_from_unreachable_mirrors_fails_with_each_mirror_named(tmp_path):
    dead = closed_port_url()
    with pytest.raises(DataNotFoundError) as e:
        load_idx_dataset(tiny_spec(mirrors=(dead + "a/", dead + "b/")))
    assert f"{dead}a/train-images-idx3-ubyte.gz: ConnectionError" in str(e.value)
    assert f"{dead}b/train-images-idx3-ubyte.gz: ConnectionError" in str(e.value)


def test_download_without_pooch_says_which_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pooch", None)  # import pooch now raises ImportError
    with pytest.raises(DataNotFoundError, match=r"pip install pooch \(in a minigrad checkout: pip install '\.\[download\]'\)"):
        load_idx_dataset(tiny_spec(mirrors=(closed_port_url(),)))


def test_a_corrupt_cache_is_replaced_by_a_fresh_download(server, tmp_path):
    url, root = server
    raw = tiny_arrays()
    write_files(root / "good", raw)
    cache = datasets.cache_dir() / "tiny.npz"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not an npz")
    (_, t), _ = load_idx_dataset(tiny_spec(mirrors=(url + "good/",)))
    np.testing.assert_array_equal(t, raw["t_train"])
    with np.load(cache, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["t_train"], raw["t_train"])


# ---------------------------------------------------------------------------------------------- minibatches


def test_minibatches_cover_every_sample_once_in_a_seeded_order():
    x, t = np.arange(10.0).reshape(10, 1), np.arange(10)
    batches = list(minibatches(x, t, 3, rng=7))
    assert [len(b[0]) for b in batches] == [3, 3, 3, 1]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen) == list(range(10)) and seen.tolist() != list(range(10))
    np.testing.assert_array_equal(np.concatenate([b[0][:, 0] for b in batches]), seen)
    again = np.concatenate([b[1] for b in minibatches(x, t, 3, rng=7)])
    np.testing.assert_array_equal(again, seen)
    in_order = np.concatenate([b[1] for b in minibatches(x, t, 4, shuffle=False)])
    np.testing.assert_array_equal(in_order, t)


def test_minibatches_reject_mismatched_data_and_bad_batch_sizes():
    with pytest.raises(ValueError, match="x has 3 samples but t has 2"):
        next(minibatches(np.zeros((3, 1)), np.zeros(2), 1))
    with pytest.raises(ValueError, match="minibatches: batch_size must be an integer >= 1, got 0"):
        next(minibatches(np.zeros((3, 1)), np.zeros(3), 0))
    with pytest.raises(TypeError, match="minibatches: batch_size must be an integer, got bool True"):
        next(minibatches(np.zeros((3, 1)), np.zeros(3), True))
    with pytest.raises(ValueError, match=r"minibatches: rng \(a seed\) must be an integer >= 0, got -1"):
        next(minibatches(np.zeros((3, 1)), np.zeros(3), 1, rng=-1))
    with pytest.raises(ValueError, match=r"load_digits: seed must be an integer >= 0, got -1"):
        load_digits(seed=-1)
