"""The book's .pkl weight files, read without running anything from them, and written for the book's code.

A pickle is a program: its opcodes may import any name (``os.system``) and call it with any
arguments, so ``pickle.load`` on a file from elsewhere runs whatever the file says. ``read_pickle``
never calls ``pickle.load``. It first reads every opcode (``pickletools.genops``, which builds
nothing) and refuses the file unless each opcode is one that builds plain data and each imported
name is one of numpy's array, dtype and scalar constructors (numpy 1.x and 2.x spellings); then it
runs those opcodes on a stack machine of its own, where each allowed name is replaced by a function
here that checks its arguments (a numeric dtype, data of exactly the claimed size) before it builds.
Every array's data is in the file, so memory stays within a small multiple of the file's size.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import pickletools
import re
from typing import Any, Callable

import numpy as np

from ._files import ModelFileError, atomic_write

__all__ = ["read_pickle", "write_pickle"]

NUMERIC = "biufc"
"""The dtype kinds an array or scalar may have: bool, integers, floats, complex."""


class _Refused(Exception):
    """Why the file is refused; read_pickle turns it into a ModelFileError naming the file."""


def _dtype(obj: Any, align: Any = False, copy: Any = False) -> np.dtype:
    """numpy.dtype(code, align, copy) as numpy's pickles call it, for a numeric code such as 'f8' only; a fresh copy."""
    if not (isinstance(obj, str) and re.fullmatch(r"[biufc][0-9]{1,2}", obj) and align is False and copy in (False, True)):
        raise _Refused(f"numpy.dtype{(obj, align, copy)!r:.60}: only a numeric dtype code such as 'f8' is allowed")
    try:
        dt = np.dtype(obj)
    except TypeError:
        raise _Refused(f"numpy.dtype({obj!r}): not a dtype") from None
    return np.dtype(dt, copy=True)  # BUILD sets its byte order in place: never on numpy's shared instance


def _numeric(dtype: Any, what: str) -> np.dtype:
    if not isinstance(dtype, np.dtype) or dtype.kind not in NUMERIC or dtype.hasobject or dtype.fields or dtype.subdtype:
        raise _Refused(f"{what} with dtype {dtype!r:.60}: only numeric dtypes are allowed")
    return dtype


def _shape(shape: Any, what: str) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        raise _Refused(f"{what} with shape {shape!r:.60}: not a tuple of sizes")
    return shape


def _check_size(data: Any, shape: tuple[int, ...], dtype: np.dtype, what: str) -> None:
    if not isinstance(data, (bytes, bytearray)):
        raise _Refused(f"{what} with data of type {type(data).__name__}: only bytes are allowed")
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != len(data):
        raise _Refused(f"{what} claims shape {shape} of {dtype} ({claimed} bytes) but holds {len(data)} bytes")


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's _reconstruct(ndarray, (0,), b'b'): an empty ndarray that BUILD then fills."""
    if subtype is not np.ndarray or shape != (0,) or dtype not in (b"b", "b"):
        raise _Refused(f"_reconstruct{(subtype, shape, dtype)!r:.80}: only numpy's own _reconstruct(numpy.ndarray, (0,), b'b') is allowed")
    return np.empty(0, np.int8)


def _scalar(dtype: Any, data: Any) -> np.generic:
    """numpy's scalar(dtype, bytes): one number of a numeric dtype."""
    dtype = _numeric(dtype, "a numpy scalar")
    _check_size(data, (), dtype, "a numpy scalar")
    return np.frombuffer(bytes(data), dtype)[0]


def _frombuffer(data: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """numpy's _frombuffer(buffer, dtype, shape, order), as pickle protocol 5 writes arrays: a copy of the data."""
    dtype, shape = _numeric(dtype, "an array"), _shape(shape, "an array")
    _check_size(data, shape, dtype, "an array")
    if order not in ("C", "F"):
        raise _Refused(f"an array with order {order!r:.20}: only 'C' or 'F' is allowed")
    return np.frombuffer(data, dtype).reshape(shape, order=order).copy(order="K")


def _encode(text: Any, encoding: Any) -> bytes:
    """_codecs.encode(str, 'latin1'), as protocols 0-2 write an array's bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"_codecs.encode of {type(text).__name__} with encoding {encoding!r:.20}: only latin1 text is allowed")
    return text.encode("latin1")


def _bytes(*args: Any) -> bytes:
    """bytes(), as protocols 0-2 write empty bytes (an empty array's data)."""
    if args:
        raise _Refused(f"bytes of {str(args)[:40]}: only bytes() is allowed")
    return b""


def _array_state(array: np.ndarray, state: Any) -> None:
    """ndarray.__setstate__((version, shape, dtype, fortran, data)) on the empty array from _reconstruct."""
    if not (isinstance(state, tuple) and len(state) == 5 and type(state[0]) is int and isinstance(state[3], bool)):
        raise _Refused(f"an array's state {str(state)[:60]}: not (version, shape, dtype, fortran, bytes)")
    shape, dtype = _shape(state[1], "an array"), _numeric(state[2], "an array")
    _check_size(state[4], shape, dtype, "an array")
    array.__setstate__(state)


def _dtype_state(dtype: np.dtype, state: Any) -> None:
    """dtype.__setstate__((version, byteorder, None, None, None, elsize, alignment, flags)) for a plain number type."""
    if not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3 and state[1] in ("<", ">", "|", "=")
            and state[2:] == (None, None, None, -1, -1, 0)):
        raise _Refused(f"a dtype's state {str(state)[:60]}: only a byte order for a plain numeric dtype is allowed")
    dtype.__setstate__(state)
    _numeric(dtype, "a dtype")


GLOBALS: dict[tuple[str, str], Any] = {
    **{(module, "_reconstruct"): _reconstruct for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, "scalar"): _scalar for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, "_frombuffer"): _frombuffer for module in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode,
    **{(module, "bytes"): _bytes for module in ("__builtin__", "builtins")},
}
"""Every name a file may import, and what stands for it: numpy 1.x and 2.x pickles, protocols 0 to 5."""
CALLABLE = (_reconstruct, _scalar, _frombuffer, _dtype, _encode, _bytes)

_PUSH = {  # opcodes that push their argument, or a new empty container
    **dict.fromkeys(["INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT", "UNICODE",
                     "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "SHORT_BINBYTES", "BINBYTES", "BINBYTES8"], None),
    "BYTEARRAY8": bytearray, "NONE": lambda _: None, "NEWTRUE": lambda _: True, "NEWFALSE": lambda _: False,
    "EMPTY_DICT": lambda _: {}, "EMPTY_LIST": lambda _: [], "EMPTY_TUPLE": lambda _: (),
}
_PUT = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
_GET = {"GET", "BINGET", "LONG_BINGET"}
_OTHER = {"PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "LIST", "DICT",
          "APPEND", "APPENDS", "SETITEM", "SETITEMS", "GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD"}
ALLOWED_OPCODES = frozenset(_PUSH) | _PUT | _GET | _OTHER
"""What a file may do: push numbers, strings and bytes, build tuples, lists and dicts, and call the GLOBALS."""


def _global(module: Any, name: Any) -> Any:
    """What stands for module.name, or _Refused naming it."""
    if (module, name) not in GLOBALS:
        raise _Refused(f"it would import {module}.{name}, and this reader builds only numpy arrays, dtypes and plain data")
    return GLOBALS[module, name]


def _scan(data: bytes) -> list[tuple[str, Any]]:
    """The file's opcodes with their arguments, once each opcode is allowed and each imported name is in GLOBALS.

    STACK_GLOBAL takes its module and name from the stack: they must have been pushed just before
    as strings (or fetched from the memo, where strings were stored), so every import is known here.
    """
    ops: list[tuple[str, Any]] = []
    strings: dict[Any, str] = {}  # memo index -> the string stored there
    memo: set[Any] = set()  # every memo index written so far
    recent: list[Any] = []  # per push, its value when a string (None otherwise)
    protocol = 1  # until PROTO says: protocols 0 and 1 have no PROTO opcode
    frame_end, last = 0, 0  # where the latest FRAME ends, where the latest opcode began
    for opcode, arg, pos in pickletools.genops(data):
        name = opcode.name
        if last < frame_end < pos or (name == "FRAME" and pos < frame_end):
            raise ValueError(f"an opcode at byte {last} runs past the end of its frame at byte {frame_end}")
        if name == "FRAME":
            frame_end = pos + 9 + arg
            if frame_end > len(data):
                raise ValueError(f"a frame of {arg} bytes at byte {pos} runs past the end of the file")
        last = pos
        if name not in ALLOWED_OPCODES:
            raise _Refused(f"opcode {name}, which builds objects other than numpy arrays and plain data")
        if name == "PROTO":
            if not 2 <= arg <= pickle.HIGHEST_PROTOCOL:
                raise ValueError(f"unsupported pickle protocol: {arg}")
            protocol = arg
        if opcode.proto > protocol:
            raise ValueError(f"opcode {name} of protocol {opcode.proto} in a protocol {protocol} pickle")
        if name == "GLOBAL":
            _global(*arg.split(" ", 1))
        elif name == "STACK_GLOBAL" and (len(recent) < 2 or None in recent[-2:]):
            raise _Refused("an import whose module and name are not strings written just before it")
        elif name == "STACK_GLOBAL":
            _global(*recent[-2:])
        if name in _PUT:
            key = len(memo) if name == "MEMOIZE" else arg
            memo.add(key)
            if recent and recent[-1] is not None:
                strings[key] = recent[-1]
            else:
                strings.pop(key, None)
        elif name in _GET:
            recent.append(strings.get(arg))
        elif name in _PUSH:
            recent.append(arg if isinstance(arg, str) else None)
        elif name not in ("PROTO", "FRAME"):
            recent.append(None)
        ops.append((name, arg))
    return ops


def _plain(result: Any) -> Any:
    """result, once no container in it holds an imported name itself rather than something built by calling it."""
    todo, seen = [result], set()
    while todo:
        value = todo.pop()
        if isinstance(value, type) or any(value is f for f in CALLABLE):
            raise _Refused(f"it returns {getattr(value, '__name__', value)} itself: only data built from it is allowed")
        if isinstance(value, (list, tuple, dict)) and id(value) not in seen:
            seen.add(id(value))
            todo.extend([*value.keys(), *value.values()] if isinstance(value, dict) else value)
    return result


def _run(ops: list[tuple[str, Any]]) -> Any:
    """Run the scanned opcodes on a stack; each import is its stand-in from GLOBALS, each call checks its arguments."""
    stack: list[Any] = []  # what the opcodes since the latest open MARK pushed: all they may reach, as in pickle
    below: list[list[Any]] = []  # the stacks under each open MARK
    memo: dict[Any, Any] = {}

    def to_mark() -> list[Any]:
        nonlocal stack
        items, stack = stack, below.pop()
        return items

    for name, arg in ops:
        if name in _PUSH:
            make = _PUSH[name]
            stack.append(arg if make is None else make(arg))
        elif name in _PUT:
            if name != "MEMOIZE" and arg < 0:
                raise ValueError(f"negative {name} argument")
            memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
        elif name in _GET:
            stack.append(memo[arg])
        elif name == "MARK":
            below.append(stack)
            stack = []
        elif name == "POP" and stack:
            stack.pop()
        elif name == "POP":  # as pickle: with nothing above the MARK, POP removes the MARK
            to_mark()
        elif name == "POP_MARK":
            to_mark()
        elif name == "DUP":
            stack.append(stack[-1])
        elif name in ("TUPLE", "LIST", "DICT"):
            items = to_mark()
            if name == "DICT" and len(items) % 2:
                raise ValueError("odd number of items for DICT")
            if name == "DICT":
                stack.append(dict(zip(items[::2], items[1::2])))
            else:
                stack.append(tuple(items) if name == "TUPLE" else items)
        elif name.startswith("TUPLE"):
            n = int(name[-1])
            if len(stack) < n:
                raise IndexError(f"{name} with {len(stack)} values on the stack")
            stack[-n:] = [tuple(stack[-n:])]
        elif name in ("APPEND", "APPENDS", "SETITEM", "SETITEMS"):
            if len(stack) < {"APPEND": 2, "SETITEM": 3}.get(name, 0):
                raise IndexError(f"{name} with {len(stack)} values on the stack")
            items = [stack.pop()] if name == "APPEND" else stack[-2:] if name == "SETITEM" else to_mark()
            if name == "SETITEM":
                del stack[-2:]
            target = stack[-1]
            if type(target) is not (list if name.startswith("APPEND") else dict):
                raise _Refused(f"{name} on a {type(target).__name__}")
            if len(items) % 2 and name == "SETITEMS":
                raise ValueError("odd number of items for SETITEMS")
            if name.startswith("APPEND"):
                target.extend(items)
            else:
                target.update(zip(items[::2], items[1::2]))
        elif name == "GLOBAL":
            stack.append(_global(*arg.split(" ", 1)))
        elif name == "STACK_GLOBAL":
            module, attr = stack.pop(-2), stack.pop()
            stack.append(_global(module, attr))
        elif name == "REDUCE":
            args, func = stack.pop(), stack.pop()
            if not any(func is f for f in CALLABLE) or not isinstance(args, tuple):
                raise _Refused(f"a call of {func!r:.60}: only numpy's array, dtype and scalar constructors are called")
            stack.append(func(*args))
        elif name == "BUILD":
            state, target = stack.pop(), stack[-1]
            if type(target) is np.ndarray and target.size == 0 and target.dtype == np.int8:
                _array_state(target, state)
            elif isinstance(target, np.dtype):
                _dtype_state(target, state)
            else:
                raise _Refused(f"setting the state of a {type(target).__name__}")
        elif name == "STOP":
            if len(stack) != 1 or below:
                raise _Refused(f"it ends with {len(stack)} values on the stack instead of one")
            return _plain(stack[0])
    raise _Refused("it ends without STOP")


def read_pickle(path: str | os.PathLike[str], where: str = "read_pickle") -> Any:
    """The data in the pickle at `path` (numpy arrays in dicts, lists, tuples, strings, numbers), built without pickle.load.

    Anything else — an import of another name, an opcode that builds other objects, an array
    whose data does not match its shape, a truncated file — raises ModelFileError naming `where`,
    the file and what was refused, before that object is built.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        return _run(_scan(data))
    except _Refused as e:
        raise ModelFileError(f"{where}: {os.fspath(path)} is refused: {e}") from None
    except (ValueError, TypeError, KeyError, IndexError, EOFError, OverflowError, MemoryError, UnicodeError) as e:
        raise ModelFileError(
            f"{where}: {os.fspath(path)} is not a readable pickle (truncated, corrupt or another kind of file): "
            f"{type(e).__name__}: {str(e)[:120]}"
        ) from None


def write_pickle(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """pickle.dump(arrays) to `path` atomically, as the book's save_params writes: a dict of names to numpy arrays."""
    for key, a in arrays.items():
        if not isinstance(key, str) or not isinstance(a, np.ndarray) or a.dtype.kind not in NUMERIC:
            raise TypeError(f"write_pickle: {key!r} must name a numeric numpy array, got {type(a).__name__}")
    atomic_write(path, lambda f: pickle.dump(dict(arrays), f, protocol=4))
