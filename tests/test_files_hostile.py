"""Hostile and corrupt files: each fails with the module's own error naming the file, at a cost bounded by its size.

Model files (.npz with JSON metadata), dataset files (IDX, plain or gzip, and the .npz cache) and the
atomic writer. Memory is measured in a fresh subprocess (peak RSS, resource.getrusage), because a
claim that is checked too late shows up there as gigabytes. Set MINIGRAD_FUZZ_COUNTS=path to add
this file's counts to the fuzz report.
"""

from __future__ import annotations

import collections
import gzip
import importlib.util
import io
import math
import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fuzz_counts

import minigrad
from minigrad import Affine, BatchNormalization, Convolution, MultiLayerNet, Pooling, ReLU, Sequential, SoftmaxWithLoss
from minigrad.datasets import IdxFormatError, read_idx
from minigrad.serialization import ModelFileError, load_model, load_weights, save_model

pytestmark = pytest.mark.filterwarnings("error")

TRIED: collections.Counter[str] = collections.Counter()


_report_counts = fuzz_counts.reporter(TRIED)


def npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def model_file(tmp_path, meta_edit=None, arrays_edit=None, name="m.npz", model=None):
    """A valid small minigrad model file (of model, by default a small Affine net), with its metadata and arrays edited by the given functions."""
    good = tmp_path / "good.npz"
    save_model(good, model or Sequential(Affine(np.ones((3, 2)), np.zeros(2)), ReLU(), loss=SoftmaxWithLoss()))
    with np.load(good, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["minigrad.json"]))
    if meta_edit:
        meta = meta_edit(meta)
    if arrays_edit:
        arrays = arrays_edit(arrays)
    arrays["minigrad.json"] = np.array(meta if isinstance(meta, str) else json.dumps(meta))
    path = tmp_path / name
    path.write_bytes(npz_bytes(arrays))
    return path


def peak(code: str, tmp_path) -> tuple[float, float, str]:
    """(peak RSS in MiB above the interpreter with numpy and minigrad imported, seconds, stderr) of code in a fresh process."""
    script = textwrap.dedent(
        """
        import resource, sys, time
        import numpy as np
        import minigrad, minigrad.serialization, minigrad.datasets
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
        {body}
        except Exception as e:
            print(type(e).__name__ + ": " + str(e)[:300], file=sys.stderr)
        elapsed = time.perf_counter() - start
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024, elapsed)
        """
    ).format(body=textwrap.indent(textwrap.dedent(code), "    "))
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    mib, seconds = map(float, r.stdout.split())
    return mib, seconds, r.stderr


# ------------------------------------------------------------------------------------------------ model files


@pytest.mark.parametrize("shape", [[20000, 20000], [1000000, 1000000], [2**40, 2]])
def test_a_small_model_file_claiming_a_huge_affine_is_refused_before_allocating(tmp_path, shape):
    TRIED["files"] += 1

    def claim(meta):
        meta["model"]["layers"][0]["shape"] = shape
        return meta

    path = model_file(tmp_path, claim)
    assert path.stat().st_size < 8000
    mib, seconds, err = peak(f"minigrad.serialization.load_model({str(path)!r})", tmp_path)
    assert err.startswith("ModelFileError: load_model: ") and str(path) in err and "claims param/0.W" in err, err
    assert mib < 20 and seconds < 2, (mib, seconds)


@pytest.mark.parametrize("config", [
    {"input_size": 20000, "hidden_size_list": [20000], "output_size": 20000},
    {"input_size": 3, "hidden_size_list": [2] * 5000, "output_size": 2},
])
def test_a_preset_claiming_huge_or_thousands_of_layers_is_cheap(tmp_path, config):
    TRIED["files"] += 1

    def claim(meta):
        meta["model"] = {"class": "MultiLayerNet", "config": config}
        return meta

    path = model_file(tmp_path, claim)
    mib, seconds, err = peak(f"minigrad.serialization.load_model({str(path)!r})", tmp_path)
    assert err.startswith("ModelFileError: load_model: ") and str(path) in err, err
    assert mib < 20 and seconds < 2, (mib, seconds)


def conv_net() -> Sequential:
    """Convolution (2 filters of 1x3x3) -> ReLU -> Pooling 2x2 -> Affine(2·3·3, 3) -> BatchNormalization(3): 8x8 images."""
    rng = np.random.default_rng(0)
    return Sequential(Convolution(rng.standard_normal((2, 1, 3, 3)), np.zeros(2)), ReLU(), Pooling(2, 2, stride=2),
                      Affine(rng.standard_normal((18, 3)), np.zeros(3)), BatchNormalization(np.ones(3), np.zeros(3)),
                      loss=SoftmaxWithLoss())


@pytest.mark.parametrize("pad", [3000, 10**6])
def test_a_convolution_padding_to_gigabytes_is_refused_at_load_before_any_predict(tmp_path, pad):
    """Issue 21: a 2 kB spec with pad=3000 loaded, and its first predict on one 8x8 image asked for ~2.9 GB (pad=10**6: 233 TiB)."""
    TRIED["files"] += 1

    def claim(meta):
        meta["model"]["layers"][0]["pad"] = pad
        return meta

    path = model_file(tmp_path, claim, model=conv_net())
    assert path.stat().st_size < 8000
    mib, seconds, err = peak(f"minigrad.serialization.load_model({str(path)!r}).predict(np.zeros((1, 1, 8, 8)))", tmp_path)
    assert err.startswith("ModelFileError: load_model: ") and str(path) in err, err
    assert "pad must be less than the filter size" in err and str(pad) in err, err
    assert mib < 20 and seconds < 2, (mib, seconds)


def swap_layer(meta, arrays, index, spec, params):
    """The file's layer `index` replaced by another spec and its parameter arrays."""
    meta["model"]["layers"][index] = spec
    for k in [k for k in arrays if k.startswith(f"param/{index}.")]:
        del arrays[k]
    arrays.update({f"param/{index}.{k}": a for k, a in params.items()})
    meta["params"] = [k[len("param/"):] for k in arrays if k.startswith("param/")]


@pytest.mark.parametrize("index, spec, params, says", [
    (3, {"class": "Affine", "shape": [21, 3], "dtype": "float64"}, {"W": np.ones((21, 3)), "b": np.zeros(3)},
     "layer 3 (Affine) takes 21 features per sample, but receives (N, 2, ?, ?)"),
    (4, {"class": "BatchNormalization", "size": 4, "dtype": "float64", "momentum": 0.9, "eps": 1e-5},
     {"gamma": np.ones(4), "beta": np.zeros(4)}, "layer 4 (BatchNormalization) normalizes 4 features or channels, but receives (N, 3)"),
    (2, {"class": "Convolution", "shape": [2, 5, 3, 3], "dtype": "float64", "stride": 1, "pad": 0},
     {"W": np.ones((2, 5, 3, 3)), "b": np.zeros(2)}, "layer 2 (Convolution) takes images (N, 5, H, W), but receives (N, 2, ?, ?)"),
    (3, {"class": "Pooling", "pool_h": 2, "pool_w": 2, "stride": 2, "pad": 0}, {}, "layer 3 (Pooling) takes images (N, C, H, W), but receives (N, 3)"),
])
def test_layers_that_cannot_run_one_after_another_are_refused_at_load(tmp_path, index, spec, params, says):
    TRIED["files"] += 1
    net = conv_net()
    if spec["class"] == "Pooling":  # an Affine before it: images are gone
        net = Sequential(*net.layers[:3], net.layers[3], ReLU(), BatchNormalization(np.ones(3), np.zeros(3)), loss=SoftmaxWithLoss())
        index = 5
        says = says.replace("layer 3", "layer 5")
    with np.load(model_file(tmp_path, model=net, name="base.npz"), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["minigrad.json"]))
    swap_layer(meta, arrays, index, spec, params)
    if spec["class"] == "Pooling":
        for k in [k for k in arrays if k.startswith("buffer/5.")]:
            del arrays[k]
    arrays["minigrad.json"] = np.array(json.dumps(meta))
    path = tmp_path / "m.npz"
    path.write_bytes(npz_bytes(arrays))
    with pytest.raises(ModelFileError) as e:
        load_model(path)
    assert str(path) in str(e.value) and "cannot run one after another" in str(e.value) and says in str(e.value), str(e.value)


@pytest.mark.parametrize("key, value, says", [
    ("buffer/4.running_var", -1.0, "running_var must be >= 0 (it is a variance), got -1.0"),
    ("buffer/4.running_mean", np.nan, "buffer '4.running_mean' has nan in it"),
    ("buffer/4.running_var", np.inf, "buffer '4.running_var' has inf in it"),
    ("param/3.W", np.nan, "parameter '3.W' has nan in it"),
])
def test_impossible_statistics_and_weights_are_refused_and_load_weights_changes_nothing(tmp_path, key, value, says):
    TRIED["files"] += 1

    def poison(arrays):
        arrays[key] = arrays[key].copy()
        arrays[key][1] = value
        return arrays

    path = model_file(tmp_path, arrays_edit=poison, model=conv_net())
    for call in (load_model, lambda p: minigrad.Trainer.load_checkpoint(p)):
        with pytest.raises(ModelFileError) as e:
            call(path)
        assert str(path) in str(e.value) and "a state no model can be in" in str(e.value) and says in str(e.value), str(e.value)
    net = conv_net()
    for a in net.params.values():  # other weights than the file's: none of the file's may arrive
        a += 1.0
    before = {k: a.copy() for k, a in {**net.params, **net.buffers}.items()}
    with pytest.raises(ModelFileError):
        load_weights(path, net)
    assert all(np.array_equal(a, before[k]) for k, a in {**net.params, **net.buffers}.items())


def test_a_deep_sequential_builds_in_linear_time():
    TRIED["files"] += 1
    start = time.process_time()
    Sequential(*[ReLU() for _ in range(20000)])
    assert time.process_time() - start < 2


@pytest.mark.parametrize("meta", [
    "[" * 100000 + "]" * 100000,
    '{"format": "minigrad", "version": 1, "model": ' + '{"class": "Sequential", "layers": [' * 3000 + "]}" * 3000 + "}",
])
def test_corrupt_json_nesting_is_a_model_file_error(tmp_path, meta):
    TRIED["files"] += 1
    path = model_file(tmp_path, lambda m: meta)
    with pytest.raises(ModelFileError, match=rf"^load_model: {path}"):
        load_model(path)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    from minigrad.optimizers import Adam

    d = tmp_path_factory.mktemp("ck")
    net = MultiLayerNet(4, [3], 2, rng=0)
    opt = Adam()
    opt.update(net.params, {k: np.ones_like(p) for k, p in net.params.items()})
    save_model(d / "ck.npz", net, optimizer=opt, rng=np.random.default_rng(0), extra={"note": [1, 2]})
    with np.load(d / "ck.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@settings(max_examples=150)
@given(data=st.data())
def test_any_altered_metadata_field_loads_or_is_a_model_file_error(tmp_path_factory, good_checkpoint, data):
    TRIED["files"] += 1
    meta = json.loads(str(good_checkpoint["minigrad.json"]))
    paths = list(_paths(meta))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths))
        value = data.draw(JSON_VALUES)
        if not where:
            meta = value
            break
        node = meta
        try:
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = value
        except (KeyError, IndexError, TypeError):
            pass
    arrays = dict(good_checkpoint)
    arrays["minigrad.json"] = np.array(json.dumps(meta))
    path = tmp_path_factory.mktemp("meta") / "m.npz"
    path.write_bytes(npz_bytes(arrays))
    from minigrad.serialization import load_checkpoint

    try:
        ck = load_checkpoint(path)
    except ModelFileError as e:
        assert str(e).startswith(f"load_checkpoint: {path}"), str(e)
        return
    assert ck.model.params.keys()


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    net = MultiLayerNet(5, [4], 3, rng=1)
    save_model(d / "m.npz", net)
    return (d / "m.npz").read_bytes(), {k: p.copy() for k, p in net.params.items()}


@settings(max_examples=300)
@given(data=st.data(), how=st.sampled_from(["truncate", "flip", "flip_many", "append", "zero_run"]))
def test_truncated_or_flipped_model_files_load_right_or_fail_clearly(tmp_path_factory, good_bytes, data, how):
    TRIED["files"] += 1
    raw, params = good_bytes
    b = bytearray(raw)
    if how == "truncate":
        b = b[: data.draw(st.integers(0, len(b) - 1))]
    elif how in ("flip", "flip_many"):
        for _ in range(1 if how == "flip" else data.draw(st.integers(2, 20))):
            i = data.draw(st.integers(0, len(b) - 1))
            b[i] ^= data.draw(st.integers(1, 255))
    elif how == "append":
        b += data.draw(st.binary(min_size=1, max_size=64))
    else:
        i = data.draw(st.integers(0, len(b) - 1))
        b[i : i + 16] = bytes(len(b[i : i + 16]))
    path = tmp_path_factory.mktemp("flip") / "m.npz"
    path.write_bytes(bytes(b))
    try:
        model = load_model(path)
    except ModelFileError as e:
        assert str(e).startswith(f"load_model: {path}"), str(e)
        return
    for k, p in model.params.items():  # whatever loaded is the model that was saved
        assert np.array_equal(p, params[k]), k


@pytest.mark.parametrize("claim", [(10**9,), (50000, 50000), (2**62,)])
def test_an_npz_member_header_claiming_more_than_it_holds_is_refused_before_reading(tmp_path, claim):
    TRIED["files"] += 1

    def lie(arrays):
        return arrays

    path = model_file(tmp_path, arrays_edit=lie)
    raw = bytearray(path.read_bytes())
    header = b"'shape': (3, 2)"
    i = raw.index(header)
    new = f"'shape': {claim}".encode()
    raw[i : i + len(header)] = new.ljust(len(header))[: len(header)] if len(new) <= len(header) else new
    path.write_bytes(bytes(raw))
    mib, seconds, err = peak(f"minigrad.serialization.load_model({str(path)!r})", tmp_path)
    assert err.startswith("ModelFileError: load_model: ") and str(path) in err, err
    assert mib < 20 and seconds < 2, (mib, seconds)


def test_a_compressed_member_that_would_expand_a_thousandfold_is_refused(tmp_path):
    TRIED["files"] += 1
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("minigrad.json.npy", npz_header(np.dtype("<U10"), ()) + "minigrad  ".encode("utf-32-le"))
        with z.open("param/0.W.npy", "w", force_zip64=True) as f:
            f.write(npz_header(np.dtype("<f8"), (2**27,)))
            chunk = bytes(1 << 24)
            for _ in range(64):  # 1 GiB of zeros, about 1 MiB compressed
                f.write(chunk)
    assert path.stat().st_size < 4 << 20
    mib, seconds, err = peak(f"minigrad.serialization.load_model({str(path)!r})", tmp_path)
    assert err.startswith("ModelFileError: load_model: ") and "would decompress" in err, err
    assert mib < 20 and seconds < 2, (mib, seconds)


def npz_header(dtype, shape) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_load_weights_names_the_file_for_malformed_metadata(tmp_path):
    TRIED["files"] += 1
    path = model_file(tmp_path, lambda m: {**m, "model": {"class": "MultiLayerNet", "config": [1, 2]}})
    with pytest.raises(ModelFileError, match=rf"^load_weights: {path}"):
        load_weights(path, MultiLayerNet(3, [2], 2, rng=0))


# ------------------------------------------------------------------------------------------------ dataset files


def idx_bytes(a: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape) + a.astype(np.uint8).tobytes()


def test_a_gzip_idx_bomb_is_read_only_as_far_as_its_header_says(tmp_path):
    TRIED["files"] += 1
    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(idx_bytes(np.zeros(4, np.uint8)))
        chunk = bytes(1 << 24)
        for _ in range(64):  # 1 GiB of trailing zeros behind a header that says 4 bytes
            f.write(chunk)
    assert path.stat().st_size < 8 << 20
    mib, seconds, err = peak(f"minigrad.datasets.read_idx({str(path)!r}, shape=(4,))", tmp_path)
    assert err.startswith("IdxFormatError: ") and str(path) in err and "corrupt" in err, err
    assert mib < 20 and seconds < 3, (mib, seconds)
    # the download path reads a fetched file the same way before hashing it: never past the expected size
    mib, seconds, err = peak(f"minigrad.datasets._read_bytes({str(path)!r}, limit=12)", tmp_path)
    assert err.startswith("IdxFormatError: ") and "more than the 12 bytes expected once decompressed" in err, err
    assert mib < 20 and seconds < 3, (mib, seconds)


def test_a_gzip_idx_whose_header_claims_more_than_expected_is_refused_at_the_header(tmp_path):
    TRIED["files"] += 1
    path = tmp_path / "claim-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + (60000).to_bytes(4, "big") + (28000).to_bytes(4, "big") * 2))
    with pytest.raises(IdxFormatError, match=r"wrong dimensions: the header says \(60000, 28000, 28000\)"):
        read_idx(path, shape=(60000, 28, 28))


@settings(max_examples=200)
@given(data=st.data(), gz=st.booleans(), how=st.sampled_from(["truncate", "flip", "append"]))
def test_idx_files_truncated_or_flipped_read_right_or_fail_clearly(tmp_path_factory, data, gz, how):
    TRIED["files"] += 1
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytearray(gzip.compress(idx_bytes(a), mtime=0) if gz else idx_bytes(a))
    if how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
    else:
        raw += data.draw(st.binary(min_size=1, max_size=8))
    path = tmp_path_factory.mktemp("idx") / "x-idx3-ubyte"
    path.write_bytes(bytes(raw))
    try:
        got = read_idx(path, shape=(2, 3, 4))
    except IdxFormatError as e:
        assert str(path) in str(e)
        return
    assert got.shape == (2, 3, 4)  # a flip in the pixels is a valid file with other pixels


def test_a_corrupt_download_cache_is_set_aside_and_the_next_source_used(tmp_path, monkeypatch):
    TRIED["files"] += 1
    from minigrad import datasets

    spec = datasets.IdxDataset(name="tiny", sha256={}, n_train=3, n_test=2, image_shape=(2, 2), n_classes=2,
                               system_dirs=(str(tmp_path / "system"),))
    (tmp_path / "system").mkdir()
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte": rng.integers(0, 255, (3, 2, 2)), "train-labels-idx1-ubyte": np.array([0, 1, 1]),
             "t10k-images-idx3-ubyte": rng.integers(0, 255, (2, 2, 2)), "t10k-labels-idx1-ubyte": np.array([1, 0])}
    for name, a in files.items():
        (tmp_path / "system" / name).write_bytes(idx_bytes(a))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    cache = tmp_path / "cache" / "minigrad" / "tiny.npz"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(npz_bytes({"x_train": np.zeros((3, 2, 2), np.uint8)})[:100])  # truncated
    (x, t), _ = datasets.load_idx_dataset(spec, download=False)
    assert np.array_equal(t, [0, 1, 1])
    assert not cache.exists() and cache.with_name("tiny.npz.corrupt").exists()


# ------------------------------------------------------------------------------------------------ atomic writes


def test_a_save_killed_mid_write_leaves_a_temp_file_the_next_save_into_the_directory_removes(tmp_path):
    TRIED["files"] += 1
    (tmp_path / "model.npz").write_bytes(b"the old model")
    code = textwrap.dedent(
        f"""
        import os, signal, numpy as np
        from minigrad._files import atomic_write
        def write(f):
            f.write(b"x" * 1000)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        atomic_write({str(tmp_path / 'model.npz')!r}, write)
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert r.returncode == -signal.SIGKILL
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and left[0].startswith(".model.npz.") and left[0].endswith(".minigrad-tmp"), left
    assert (tmp_path / "model.npz").read_bytes() == b"the old model"
    save_model(tmp_path / "another.npz", MultiLayerNet(2, [2], 2, rng=0))  # a save of any name cleans up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["another.npz", "model.npz"]


def test_a_temporary_file_left_by_a_dead_writer_goes_at_the_next_save_into_its_directory(tmp_path):
    TRIED["files"] += 1
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    for name in ("model.npz", "other.npz"):  # left by writers of any name: both go
        (tmp_path / f".{name}.{dead}.abcd1234.minigrad-tmp").write_bytes(b"half")
    alive = tmp_path / f".model.npz.{os.getppid()}.abcd1234.minigrad-tmp"  # a live writer's file stays
    alive.write_bytes(b"in progress")
    save_model(tmp_path / "third.npz", MultiLayerNet(2, [2], 2, rng=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, "third.npz"])


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_saving_onto_a_pipe_a_device_or_a_directory_is_refused_and_leaves_it_alone(tmp_path, kind):
    TRIED["files"] += 1
    from minigrad.interop import export_onnx

    if kind == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    elif kind == "device":  # a null device of the test's own, behind a symlink (written through, so refused too):
        node = tmp_path / "devices" / "null"  # never the machine's /dev/null, which a regression would replace
        node.parent.mkdir()
        try:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs root (CI runs as root)")
        target = tmp_path / "null"
        target.symlink_to(node)
    else:
        target = tmp_path / "dir"
        target.mkdir()
    what = {"fifo": "a named pipe", "device": "a character device", "directory": "a directory"}[kind]
    model = MultiLayerNet(2, [2], 2, rng=0)
    calls = [lambda: save_model(target, model)]
    if importlib.util.find_spec("onnx") is not None:
        calls.append(lambda: export_onnx(model, target))
    for call in calls:
        with pytest.raises(OSError, match=rf"cannot write {re.escape(str(target))}.*: it is {what}"):
            call()
    assert os.stat(target).st_mode == os.stat(os.path.realpath(target)).st_mode
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(target).st_mode)
    if kind == "device":
        assert stat.S_ISCHR(os.stat(target).st_mode) and os.path.realpath(target) == str(node)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "devices") == [target.name]


def test_a_failed_save_leaves_nothing_and_the_old_file_intact(tmp_path):
    TRIED["files"] += 1
    from minigrad._files import atomic_write

    target = tmp_path / "m.bin"
    target.write_bytes(b"old")
    for exc in (ValueError("boom"), KeyboardInterrupt()):
        def write(f, exc=exc):
            f.write(b"new, half written")
            raise exc
        with pytest.raises(type(exc)):
            atomic_write(target, write)
        assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.bin"]


def test_saving_over_a_file_keeps_its_mode_and_writes_through_a_symlink(tmp_path):
    TRIED["files"] += 1
    real = tmp_path / "real.npz"
    save_model(real, MultiLayerNet(2, [2], 2, rng=0))
    os.chmod(real, 0o600)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    save_model(link, MultiLayerNet(2, [2], 2, rng=1))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert oct(real.stat().st_mode & 0o777) == oct(0o600)
    assert np.array_equal(load_model(real).params["W1"], MultiLayerNet(2, [2], 2, rng=1).params["W1"])


def test_a_save_that_cannot_write_names_the_users_path(tmp_path):
    TRIED["files"] += 1
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError) as e:
        save_model(blocker / "below" / "m.npz", MultiLayerNet(2, [2], 2, rng=0))
    assert str(blocker / "below" / "m.npz") in str(e.value) and ".minigrad-tmp" not in str(e.value)


@pytest.mark.parametrize("dims", [(2**32 - 1,) * 3, (2**31, 2**31, 4), (2**32 - 1, 2**32 - 1), (2**20, 2**20), (2**16,) * 8])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_headers_claiming_absurd_sizes_are_idx_format_errors_before_any_read(tmp_path, dims, gz):
    """Issue 21: such headers raised MemoryError, or ValueError from a read length that wrapped around int64."""
    TRIED["files"] += 1
    raw = bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + bytes(10)
    path = tmp_path / ("x-idx3-ubyte" + ".gz" * gz)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    need = math.prod(dims)
    mib, seconds, err = peak(f"minigrad.datasets.read_idx({str(path)!r})", tmp_path)
    assert err.startswith("IdxFormatError: ") and f"({need} bytes of data)" in err, err
    assert ("more than a gzip file of" if gz else "but only 10 bytes follow") in err, err
    assert mib < 20 and seconds < 2, (mib, seconds)
    with pytest.raises(IdxFormatError, match=rf"\({need} bytes of data\), but only 10 bytes follow"):
        minigrad.datasets.parse_idx(raw)
