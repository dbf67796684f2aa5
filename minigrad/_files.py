"""Files: atomic writes, and .npz archives read at a cost bounded by their size.

A crash mid-write never leaves a broken file in place of a good one, and a temporary file left by a
killed process is recognised by its name and removed by the next save into its directory. Nothing that is not a
regular file (a pipe, a device) is ever replaced by one. A hostile or corrupt archive
raises the caller's error naming the file before any array is allocated beyond what the file holds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import zipfile
from typing import BinaryIO, Callable

import numpy as np

__all__ = ["atomic_write", "read_npz", "MAX_RATIO", "ModelFileError"]

class ModelFileError(ValueError):
    """A file that is not a minigrad model, is truncated or corrupt, or holds another architecture."""


_TMP = ".minigrad-tmp"
"""The suffix of every temporary file atomic_write makes: `.<name>.<pid>.<random>.minigrad-tmp`."""


def _remove_stale(directory: str) -> None:
    """Delete temporary files left in `directory` by minigrad processes that no longer run (whatever file they were writing)."""
    pattern = re.compile(rf"^\..+\.(\d+)\.[^.]+{re.escape(_TMP)}$")
    with contextlib.suppress(OSError):
        for entry in os.listdir(directory):
            m = pattern.match(entry)
            if m is None or int(m.group(1)) == os.getpid():
                continue
            try:
                os.kill(int(m.group(1)), 0)
            except ProcessLookupError:  # its writer is gone: nothing will ever finish it
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, entry))
            except (PermissionError, OverflowError, ValueError):
                pass  # alive under another user, or not a pid at all


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _existing_mode(target: str, user_path: str) -> int:
    """The permission bits to give the new file: those of the regular file at `target`, or open()'s default for a new one.

    Anything at `target` that is not a regular file (a pipe, a device, a directory) is refused: replacing
    it with a regular file would destroy it.
    """
    try:
        st = os.stat(target)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
    except OSError as e:
        raise type(e)(e.errno, f"cannot write {user_path}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        shown = user_path if target == os.path.abspath(user_path) else f"{user_path} (-> {target})"
        raise OSError(errno.EEXIST, f"cannot write {shown}: it is {kind}, which minigrad will not replace with a file; "
                                    "give the path of a regular file")
    return stat.S_IMODE(st.st_mode)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Call write(f) on a temporary file beside `path`, fsync it, then os.replace it onto `path`.

    A symlink at `path` is written through (its target is replaced); an existing file keeps its
    mode, a new one gets the mode open() would give; a path that is not a regular file (a pipe, a
    device, a directory) is refused. On any exception the temporary file is removed; one left by a
    killed process goes at the next save into the same directory. Errors name `path`, never the
    temporary file.
    """
    user_path = os.fspath(path)
    target = os.path.realpath(user_path)  # write through a symlink: replace what it points to
    directory, name = os.path.split(target)
    mode = _existing_mode(target, user_path)
    _remove_stale(directory)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.{os.getpid()}.", suffix=_TMP)
    except OSError as e:
        raise type(e)(e.errno, f"cannot write {user_path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno is not None and tmp in str(e):
            raise type(e)(e.errno, f"cannot write {user_path}: {e.strerror}") from None
        raise


MAX_RATIO = 64
"""How much larger than its compressed bytes a member of an .npz may claim to be (minigrad writes them uncompressed)."""


def read_npz(
    path: str, where: str, error: type[Exception], *, what: str = ".npz archive", max_meta_bytes: int = 64 << 20,
    meta: str | None = None,
) -> dict[str, np.ndarray]:
    """Every array of the .npz at `path` (no pickle), or `error` naming `where`, the file and what is wrong.

    Before any data is read, each member's .npy header is checked: a numeric or string dtype, and a
    shape whose bytes are exactly the member's size, which is at most MAX_RATIO times its compressed
    size. So memory stays within a small multiple of the file's size, whatever its headers claim.
    The member `meta` (a string array, the metadata) may hold at most `max_meta_bytes`.
    """

    def fail(reason: str) -> Exception:
        return error(f"{where}: {path} is not a readable {what} (truncated, corrupt or another kind of file): {reason}")

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, RuntimeError, NotImplementedError) as e:
        with open(path, "rb") as f:
            npy = f.read(6) == b"\x93NUMPY"
        raise fail("a .npy array, not an .npz archive" if npy else f"not an .npz archive ({e})") from None
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy") or info.is_dir():
                raise fail(f"member {info.filename!r} is not an .npy array")
            key = info.filename[: -len(".npy")]
            if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_RATIO * max(info.compress_size, 1 << 14):
                raise fail(f"member {info.filename!r} would decompress {info.compress_size} bytes to {info.file_size}")
            try:
                with archive.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    shape, fortran, dtype = (
                        np.lib.format.read_array_header_1_0(f) if version == (1, 0) else np.lib.format.read_array_header_2_0(f)
                    )
                    start = f.tell()
                    if dtype.hasobject or dtype.kind not in "biufcUS":
                        raise fail(f"member {info.filename!r} has dtype {dtype}, not a numeric or string array")
                    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    if start + nbytes != info.file_size:
                        raise fail(
                            f"member {info.filename!r} claims shape {shape} of {dtype} ({nbytes} bytes of data) "
                            f"but holds {info.file_size - start}"
                        )
                    if key == meta and nbytes > max_meta_bytes:
                        raise fail(f"member {info.filename!r} holds {nbytes} bytes of metadata, more than {max_meta_bytes}")
                    body = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
                    view = body.reshape(-1, order="F" if fortran else "C").view(np.uint8)
                    if f.readinto(memoryview(view)) != nbytes:
                        raise fail(f"member {info.filename!r} is truncated")
                    arrays[key] = body
            except error:
                raise
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, TypeError, OverflowError, MemoryError,
                    RuntimeError, NotImplementedError) as e:  # RuntimeError: encrypted; NotImplementedError: zip features
                raise fail(f"member {info.filename!r} is corrupt ({type(e).__name__}: {e})") from None
    return arrays
