"""What hostile files cost minigrad: each is made in a temporary directory, then loaded in a fresh process.

Prints, per file, its size, the rise in peak memory (ru_maxrss) over the interpreter with minigrad
imported (and that total), the wall time, and the error. The files are those of tests/test_files_hostile.py:
model JSON claiming huge shapes or thousands of layers, JSON nested 100,000 deep, an .npz member
that decompresses a thousandfold, an .npy header that lies about its shape, a gzip IDX file with
1 GiB of zeros behind a 4-byte header; and since issue 21: a convolution padded by 3000 or 10**6 and
predicted on one 8x8 image, layers that cannot run one after another, impossible batch-norm
statistics (a negative variance, NaN), IDX headers claiming 2**64 bytes, a named pipe as the target
of a save; pickles (the book's weight format) that would run a shell command or whose array claims a
terabyte. Run: python benchmarks/hostile_files.py
"""

import os
import subprocess
import sys
import tempfile


def make() -> None:
    import gzip, io, json, zipfile
    import numpy as np
    from minigrad import Affine, ReLU, Sequential, SoftmaxWithLoss
    from minigrad.serialization import save_model

    save_model("good.npz", Sequential(Affine(np.ones((3, 2)), np.zeros(2)), ReLU(), loss=SoftmaxWithLoss()))
    with np.load("good.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["minigrad.json"]))
    def write(name, meta):
        a = dict(arrays); a["minigrad.json"] = np.array(meta if isinstance(meta, str) else json.dumps(meta))
        np.savez(name, **a)
    for shape, name in (([20000, 20000], "affine-20000.npz"), ([1000000, 1000000], "affine-1e6.npz")):
        m = json.loads(json.dumps(meta)); m["model"]["layers"][0]["shape"] = shape; write(name, m)
    m = dict(meta); m["model"] = {"class": "MultiLayerNet", "config": {"input_size": 20000, "hidden_size_list": [20000], "output_size": 20000}}; write("preset-20000.npz", m)
    m = dict(meta); m["model"] = {"class": "MultiLayerNet", "config": {"input_size": 3, "hidden_size_list": [2] * 5000, "output_size": 2}}; write("preset-5000-layers.npz", m)
    write("nesting.npz", "[" * 100000 + "]" * 100000)
    def header(dtype, shape):
        buf = io.BytesIO(); np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}); return buf.getvalue()
    with zipfile.ZipFile("zip-bomb.npz", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("minigrad.json.npy", header(np.dtype("<U10"), ()) + "minigrad  ".encode("utf-32-le"))
        with z.open("param/0.W.npy", "w", force_zip64=True) as f:
            f.write(header(np.dtype("<f8"), (2**27,)))
            for _ in range(64): f.write(bytes(1 << 24))
    raw = bytearray(open("good.npz", "rb").read()); i = raw.index(b"'shape': (3, 2)"); raw[i:i+15] = b"'shape': (10**9,)"[:15].replace(b"10**9", b"99999")
    open("header-lie.npz", "wb").write(raw)
    def idx(a): return bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape) + a.tobytes()
    with gzip.open("idx-bomb-idx1-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(idx(np.zeros(4, np.uint8)))
        for _ in range(64): f.write(bytes(1 << 24))
    # issue 21: files that load but cannot run, impossible state, absurd IDX headers, a pipe as target
    from minigrad import BatchNormalization, Convolution, Pooling
    rng = np.random.default_rng(0)
    conv = Sequential(Convolution(rng.standard_normal((2, 1, 3, 3)), np.zeros(2)), ReLU(), Pooling(2, 2, stride=2),
                      Affine(rng.standard_normal((18, 3)), np.zeros(3)), BatchNormalization(np.ones(3), np.zeros(3)), loss=SoftmaxWithLoss())
    save_model("conv.npz", conv)
    with np.load("conv.npz", allow_pickle=False) as f:
        conv_arrays = {k: f[k] for k in f.files}
    conv_meta = json.loads(str(conv_arrays["minigrad.json"]))
    def write_conv(name, edit_meta=None, edit_arrays=None):
        m, a = json.loads(json.dumps(conv_meta)), dict(conv_arrays)
        if edit_meta: edit_meta(m)
        if edit_arrays: edit_arrays(a)
        a["minigrad.json"] = np.array(json.dumps(m)); np.savez(name, **a)
    for pad in (3000, 10**6):
        write_conv(f"conv-pad-{pad}.npz", lambda m, pad=pad: m["model"]["layers"][0].update(pad=pad))
    write_conv("chain-mismatch.npz", lambda m: m["model"]["layers"][3].update(shape=[21, 3]),  # an Affine of 21 after 2 channels
               lambda a: a.update({"param/3.W": np.ones((21, 3))}))
    write_conv("bn-negative-var.npz", edit_arrays=lambda a: a.update({"buffer/4.running_var": -np.ones(3)}))
    write_conv("bn-nan-mean.npz", edit_arrays=lambda a: a.update({"buffer/4.running_mean": np.full(3, np.nan)}))
    dims = (2**31, 2**31, 4)  # 2**64 bytes: int64 arithmetic wrapped this to 0
    open("idx-absurd-idx3-ubyte", "wb").write(bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in dims) + bytes(10))
    os.mkfifo("pipe-target.npz")
    import pickle
    class Exploit:
        def __reduce__(self): return os.system, ("touch ran-os-system",)
    open("os-system.pkl", "wb").write(pickle.dumps({"W1": np.ones(2), "x": Exploit()}, protocol=4))
    good = pickle.dumps(np.zeros(1), protocol=3)  # the state's shape (1,) becomes (2**40,); the 8 bytes of data stay
    open("array-1TiB.pkl", "wb").write(good.replace(b"K\x01\x85", b"\x8a\x06" + (2**40).to_bytes(6, "little") + b"\x85", 1))



LOAD, IDX = "minigrad.serialization.load_model", "minigrad.datasets.read_idx"
CASES = [(name, f"{LOAD}({name!r})") for name in (
    "affine-20000.npz", "affine-1e6.npz", "preset-20000.npz", "preset-5000-layers.npz", "nesting.npz", "zip-bomb.npz", "header-lie.npz")]
CASES += [("idx-bomb-idx1-ubyte.gz", f"{IDX}('idx-bomb-idx1-ubyte.gz', shape=(4,))")]
CASES += [(name, f"{LOAD}({name!r}).predict(np.zeros((1, 1, 8, 8)))") for name in (
    "conv-pad-3000.npz", "conv-pad-1000000.npz", "chain-mismatch.npz", "bn-negative-var.npz", "bn-nan-mean.npz")]
CASES += [("idx-absurd-idx3-ubyte", f"{IDX}('idx-absurd-idx3-ubyte')"),
          ("pipe-target.npz", "minigrad.serialization.save_model('pipe-target.npz', minigrad.TwoLayerNet(4, 3, 2, rng=0))")]
CASES += [(name, f"minigrad.pickles.read_pickle({name!r})") for name in ("os-system.pkl", "array-1TiB.pkl")]
CODE = """
import resource, sys, time
import numpy as np
import minigrad, minigrad.serialization, minigrad.datasets, minigrad.pickles
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    {call}
    outcome = "done"
except Exception as e:
    outcome = type(e).__name__ + ": " + str(e)[:110]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; print(f"{{(peak - base) / 1024:.1f}} (of {{peak / 1024:.0f}})", time.perf_counter() - start, outcome, sep="\\t")
"""
def measure() -> None:
    print("file size peak-MiB-rise(of-total) seconds outcome")
    for name, call in CASES:
        out = subprocess.run([sys.executable, "-c", CODE.format(call=call)], capture_output=True, text=True).stdout.strip()
        mib, sec, outcome = out.split("\t")
        size = os.path.getsize(name) if os.path.isfile(name) else 0
        print(f"{name:26} {size:>9} {mib:>14} {float(sec):>8.3f}  {outcome}")
    print("os-system.pkl ran its command:", os.path.exists("ran-os-system"))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        make()
        measure()
