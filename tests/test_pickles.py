"""The restricted pickle reader: the book's files as pickle.load reads them, anything else refused with nothing run."""

from __future__ import annotations

import os
import pickle
import pickletools
import re
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.pickles import read_pickle, write_pickle
from minigrad.serialization import ModelFileError

pytestmark = pytest.mark.filterwarnings("error")


def book_params(rng: np.random.Generator) -> dict:
    """A dict like the book's params.pkl: names to float64 arrays of several shapes."""
    return {"W1": rng.standard_normal((4, 1, 3, 3)), "b1": np.zeros(4), "W2": rng.standard_normal((16, 5)), "b2": rng.standard_normal(5)}


def same(x, y) -> bool:
    """Equal values of equal types, dtypes, shapes and memory orders, containers compared item by item."""
    if isinstance(y, (np.ndarray, np.generic)):
        return (type(x) is type(y) and x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)
                and (not isinstance(y, np.ndarray) or x.flags.f_contiguous == y.flags.f_contiguous))
    if isinstance(y, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(map(same, x, y))
    if isinstance(y, dict):
        return type(x) is dict and list(x) == list(y) and all(same(x[k], y[k]) for k in y)
    return type(x) is type(y) and x == y


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_reads_what_pickle_dump_writes_of_arrays_and_plain_data_as_pickle_load_does(tmp_path, protocol):
    rng = np.random.default_rng(0)
    data = {
        **book_params(rng), "f32": rng.standard_normal(3).astype(np.float32), "fortran": np.asfortranarray(rng.standard_normal((2, 3))),
        "strided": np.arange(16.0).reshape(4, 4)[:, ::2], "big-endian": np.arange(3, dtype=">f4"), "empty": np.zeros((0, 3)),
        "ints": np.arange(4, dtype=np.uint8), "bools": np.array([True, False]), "complex": np.array([1 + 2j]),
        "scalar": np.float64(1.5), "int scalar": np.int32(-3), "list": [1, 2.5, "x", None, True, b"by", 2**100, {"k": [np.ones(1)]}],
        "tuple": (1, (2,)),
    }
    (tmp_path / "p.pkl").write_bytes(pickle.dumps(data, protocol=protocol))
    assert same(read_pickle(tmp_path / "p.pkl"), pickle.loads((tmp_path / "p.pkl").read_bytes()))


def test_write_pickle_writes_what_pickle_load_reads_back(tmp_path):
    params = book_params(np.random.default_rng(1))
    write_pickle(tmp_path / "w.pkl", params)
    with open(tmp_path / "w.pkl", "rb") as f:
        assert same(pickle.load(f), params)
    assert same(read_pickle(tmp_path / "w.pkl"), params)
    with pytest.raises(TypeError, match="'W1' must name a numeric numpy array, got list"):
        write_pickle(tmp_path / "x.pkl", {"W1": [1.0]})
    assert not (tmp_path / "x.pkl").exists()


class Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class Thing:
    pass


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_a_pickle_that_would_run_os_system_is_refused_and_runs_nothing(tmp_path, protocol):
    marker = tmp_path / "ran"
    payload = pickle.dumps({"W1": np.ones(2), "evil": Exploit(str(marker))}, protocol=protocol)
    (tmp_path / "evil.pkl").write_bytes(payload)
    with pytest.raises(ModelFileError, match=rf"evil.pkl is refused: it would import {os.system.__module__}\.system"):
        read_pickle(tmp_path / "evil.pkl", "SimpleConvNet.load_params")
    assert not marker.exists()
    pickle.loads(payload)  # the file is a real exploit: pickle.load runs it
    assert marker.exists()


@pytest.mark.parametrize(
    "obj, refused",
    [(Thing(), f"{__name__}.Thing"), ({"W1": np.ones(2), "x": __import__("collections").OrderedDict()}, "collections.OrderedDict"),
     (np.array([1, "a"], dtype=object), "dtype"), (np.datetime64("2020-01-01"), "dtype"), (np.array(["ab"]), "dtype"),
     ({1, 2}, "set|opcode"), (frozenset(), "frozenset|opcode"), (np.zeros(2, dtype=[("a", "f8")]), "dtype"), (np.ma.masked_array([1.0]), "numpy.ma")],
    ids=["a class of its own", "OrderedDict", "object array", "datetime", "string array", "set", "frozenset", "structured", "masked"],
)
def test_anything_but_numeric_arrays_and_plain_data_is_refused_by_name(tmp_path, obj, refused):
    for protocol in (2, 4, 5):
        (tmp_path / "p.pkl").write_bytes(pickle.dumps(obj, protocol=protocol))
        with pytest.raises(ModelFileError, match="p.pkl is refused: .*" + refused):
            read_pickle(tmp_path / "p.pkl")


def op(code: bytes, arg: bytes = b"") -> bytes:
    return code + arg


def short(s: str) -> bytes:
    b = s.encode()
    return pickle.SHORT_BINUNICODE + bytes([len(b)]) + b


@pytest.mark.parametrize(
    "payload, refused",
    [
        (b"\x80\x02c__builtin__\neval\n(S'1'\ntR.", "import __builtin__.eval"),
        (b"\x80\x04" + short("os") + short("sys") + pickle.TUPLE2 + pickle.MEMOIZE + b"\x8c\x06system\x93.", "not strings written just before"),
        (b"\x80\x02(c__builtin__\nlist\no.", "import __builtin__.list"),
        (b"(i__builtin__\nlist\n.", "opcode INST"),
        (b"\x80\x02\x82\x01.", "opcode EXT1"),
        (b"\x80\x02P0\n.", "opcode PERSID"),
        (b"\x80\x04" + short("numpy") + short("ndarray") + b"\x93K\x05\x85R.", "a call of"),  # ndarray((5,)) would allocate
        (b"\x80\x04" + short("numpy") + short("dtype") + b"\x93" + short("O8") + b"\x85R.", "numpy.dtype"),
        (b"\x80\x04" + short("numpy") + short("dtype") + b"\x93" + short("(1000000000,)f8") + b"\x85R.", "numpy.dtype"),
        (b"\x80\x02]q\x00K\x01b.", "setting the state of a list"),
        (b"\x80\x02}K\x01a.", "APPEND on a dict"),
    ],
    ids=["eval", "computed import", "OBJ", "INST", "EXT1", "persistent id", "ndarray called", "object dtype", "subarray dtype",
         "BUILD on a list", "APPEND on a dict"],
)
def test_hand_made_hostile_pickles_are_refused_naming_what(tmp_path, payload, refused):
    (tmp_path / "h.pkl").write_bytes(payload)
    with pytest.raises(ModelFileError, match=f"h.pkl is refused: .*{refused}"):
        read_pickle(tmp_path / "h.pkl")


def array_pickle(shape: tuple[int, ...], data: bytes) -> bytes:
    """A protocol 3 pickle of one float64 array whose state claims `shape` and holds `data` (pickle.dumps's layout)."""
    good = pickle.dumps(np.zeros(1), protocol=3)
    i = good.index(b"K\x01\x85")  # the state's shape (1,)
    shape_ops = b"(" + b"".join(b"J" + struct.pack("<i", n) if n < 2**31 else b"\x8a\x08" + struct.pack("<q", n) for n in shape) + b"t"
    j = good.index(b"C\x08" + bytes(8))  # the data: 8 bytes
    return good[:i] + shape_ops + good[i + 3 : j] + b"B" + struct.pack("<I", len(data)) + data + good[j + 10 :]


def test_the_array_layout_of_these_tests_is_pickles_own(tmp_path):
    (tmp_path / "a.pkl").write_bytes(array_pickle((2, 2), np.arange(4.0).tobytes()))
    assert same(read_pickle(tmp_path / "a.pkl"), np.arange(4.0).reshape(2, 2))


def peak_mib(code: str, cwd) -> tuple[float, str]:
    """(peak RSS rise in MiB, stderr) of code run after importing minigrad in a fresh process."""
    script = textwrap.dedent(f"""
        import resource, sys
        import numpy as np, minigrad.pickles
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            {code}
        except Exception as e:
            print(type(e).__name__ + ": " + str(e), file=sys.stderr)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return float(r.stdout), r.stderr


@pytest.mark.parametrize("shape", [(10**6,), (2**40,), (2**20, 2**20, 2**20)])
def test_an_array_claiming_more_than_its_data_is_refused_before_allocating(tmp_path, shape):
    (tmp_path / "huge.pkl").write_bytes(array_pickle(shape, bytes(8)))
    mib, err = peak_mib("minigrad.pickles.read_pickle('huge.pkl')", tmp_path)
    assert err.startswith("ModelFileError:") and f"claims shape {shape} of float64" in err and "holds 8 bytes" in err, err
    assert mib < 20


@pytest.mark.parametrize("claim", [pickle.BINBYTES8 + struct.pack("<Q", 2**60), pickle.BINUNICODE8 + struct.pack("<Q", 2**62),
                                   pickle.FRAME + struct.pack("<Q", 2**50), b"J\xff\xff\xff\x7f" + pickle.EMPTY_LIST + b"\x8f"])
def test_a_length_claim_beyond_the_file_is_truncation_not_an_allocation(tmp_path, claim):
    (tmp_path / "claim.pkl").write_bytes(b"\x80\x04" + claim + bytes(64))
    mib, err = peak_mib("minigrad.pickles.read_pickle('claim.pkl')", tmp_path)
    assert err.startswith("ModelFileError:") and "claim.pkl" in err, err
    assert mib < 20


def test_every_truncation_of_a_book_file_is_a_model_file_error(tmp_path):
    data = pickle.dumps({"W1": np.ones((2, 2)), "b1": np.zeros(2)}, protocol=4)
    path = tmp_path / "t.pkl"
    for n in range(len(data)):  # short of STOP: never a result
        path.write_bytes(data[:n])
        with pytest.raises(ModelFileError, match="t.pkl is not a readable pickle"):
            read_pickle(path, "DeepConvNet.load_params")


@settings(max_examples=150)
@given(st.data())
def test_flipped_bytes_read_as_pickle_load_would_or_are_a_model_file_error(tmp_path_factory, data):
    good = pickle.dumps({"W1": np.arange(6.0).reshape(2, 3), "b1": np.zeros(3), "n": [1, "a"]}, protocol=data.draw(st.sampled_from([2, 4, 5])))
    raw = bytearray(good)
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("flip") / "f.pkl"
    path.write_bytes(bytes(raw))
    try:
        got = read_pickle(path)
    except ModelFileError:
        return
    # what it builds, it builds as pickle's own Python unpickler does (the C one sizes its memo by a
    # LONG_BINPUT's index: a flipped index is a MemoryError there); the opcodes were checked first
    assert same(got, pickle._loads(bytes(raw)))


def test_opcodes_allowed_are_only_data_and_the_listed_imports():
    from minigrad.pickles import ALLOWED_OPCODES, GLOBALS

    names = {o.name for o in pickletools.opcodes}
    assert ALLOWED_OPCODES <= names
    assert not ALLOWED_OPCODES & {"INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID",
                                  "NEXT_BUFFER", "READONLY_BUFFER", "ADDITEMS", "EMPTY_SET", "FROZENSET"}
    assert {m for m, _ in GLOBALS} == {"numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                                       "numpy._core.numeric", "_codecs", "__builtin__", "builtins"}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("module", [b"numpy.core.", b"numpy._core."])  # as numpy 1.x writes it, and numpy 2.x
def test_numpy_1_and_2_files_read_the_same_under_either_numpy(tmp_path, protocol, module):
    params = {**book_params(np.random.default_rng(3)), "scalar": np.float32(2.5)}
    written = re.sub(rb"numpy\._?core\.", module, pickle.dumps(params, protocol=protocol))  # GLOBAL's text form
    assert module + b"multiarray\n" in written
    (tmp_path / "file.pkl").write_bytes(written)
    assert same(read_pickle(tmp_path / "file.pkl"), params)
