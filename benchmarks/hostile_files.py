"""What hostile files cost minigrad: each is made in a temporary directory, then loaded in a fresh process.

Prints, per file, its size, the rise in peak memory (ru_maxrss) over the interpreter with minigrad
imported (and that total), the wall time, and the error. The files are those of tests/test_files_hostile.py:
model JSON claiming huge shapes or thousands of layers, JSON nested 100,000 deep, an .npz member
that decompresses a thousandfold, an .npy header that lies about its shape, a gzip IDX file with
1 GiB of zeros behind a 4-byte header. Run: python benchmarks/hostile_files.py
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



CASES = [("affine-20000.npz", "minigrad.serialization.load_model"), ("affine-1e6.npz", "minigrad.serialization.load_model"),
         ("preset-20000.npz", "minigrad.serialization.load_model"), ("preset-5000-layers.npz", "minigrad.serialization.load_model"),
         ("nesting.npz", "minigrad.serialization.load_model"), ("zip-bomb.npz", "minigrad.serialization.load_model"),
         ("header-lie.npz", "minigrad.serialization.load_model"), ("idx-bomb-idx1-ubyte.gz", "minigrad.datasets.read_idx")]
CODE = """
import resource, sys, time
import minigrad.serialization, minigrad.datasets
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    {call}
    outcome = "loaded"
except Exception as e:
    outcome = type(e).__name__ + ": " + str(e)[:110]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; print(f"{{(peak - base) / 1024:.1f}} (of {{peak / 1024:.0f}})", time.perf_counter() - start, outcome, sep="\\t")
"""
def measure() -> None:
    print("file size peak-MiB-rise(of-total) seconds outcome")
    for name, fn in CASES:
        call = f"{fn}({name!r}" + (", shape=(4,))" if "idx" in name else ")")
        out = subprocess.run([sys.executable, "-c", CODE.format(call=call)], capture_output=True, text=True).stdout.strip()
        mib, sec, outcome = out.split("\t")
        print(f"{name:26} {os.path.getsize(name):>9} {mib:>14} {float(sec):>8.3f}  {outcome}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        make()
        measure()
