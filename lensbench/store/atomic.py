"""Atomic file writes: write to a temp file in the same directory, fsync, then os.replace.

A reader never sees a half-written file; a process killed mid-write leaves at most a ``.tmp-*`` file that
the next run ignores and removes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from lensbench.errors import UserError
from lensbench.store import faults
from lensbench.util.files import sha256_file  # noqa: F401 - re-exported for store users

TMP_PREFIX = ".tmp-"


def tmp_prefix(rank: int | None = None) -> str:
    """Temp-file prefix of this process's rank (torchrun's RANK), so a rank only ever cleans up its own."""
    return f"{TMP_PREFIX}r{os.environ.get('RANK', '0') if rank is None else rank}-"


def _disk_error(path: Path, exc: OSError) -> UserError:
    if exc.errno == errno.ENOSPC:
        return UserError(f"no space left on the device while writing {path}; free disk space and re-run (finished work is kept)")
    if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return UserError(f"cannot write {path} ({exc.strerror}); choose a writable --out directory")
    return UserError(f"cannot write {path}: {exc}")


_UMASK: list[int] = []


def file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (0666 minus the umask): mkstemp's 0600 would hide
    results from colleagues on a shared filesystem. The umask is read once per process (Linux: without
    changing it, from /proc/self/status)."""
    if not _UMASK:
        mask = None
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("Umask:"):
                    mask = int(line.split()[1], 8)
        except (OSError, ValueError):
            pass
        if mask is None:
            mask = os.umask(0o022)
            os.umask(mask)
        _UMASK.append(mask)
    return 0o666 & ~_UMASK[0]


def start_writeback(fd: int) -> None:
    """Ask the kernel to start writing `fd`'s dirty pages now, without waiting (Linux: POSIX_FADV_DONTNEED on
    dirty pages queues their writeback; pages still in flight stay cached). It only changes *when* the data goes
    out, never what `publish` guarantees (`publish` still fsyncs every file): the images of a batch are then all
    allocated before the first fsync, so a journaling filesystem commits them together and the later fsyncs
    of the batch find little left to do (ext4, batch of 2: the second image's fsync drops from ~0.2 to ~0.07 ms).
    A hint, so an OS or filesystem without it is simply skipped (the stdlib has no sync_file_range)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    try:
        advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass


class StagedFile(NamedTuple):
    """A file between `stage` and `publish`: its temp file (written, still open as `fd`) and its final path."""

    tmp: Path
    target: Path
    fd: int


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def stage(path: str | os.PathLike, data: bytes) -> StagedFile:
    """First half of an atomic write: `data` in a temp file next to `path` (not fsynced, not visible under
    `path`), left open so `publish` fsyncs it without opening it again, its writeback already started. A
    process that dies before `publish` leaves only a ``.tmp-*`` file; a caller that gives up calls `discard`."""
    path = Path(path)
    fd = tmp = None
    try:
        try:
            fd, tmp = tempfile.mkstemp(prefix=tmp_prefix(), dir=path.parent)
        except FileNotFoundError:  # first file of its folder (the common case needs no mkdir call)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=tmp_prefix(), dir=path.parent)
        os.fchmod(fd, file_mode())
        half = len(data) // 2
        _write_all(fd, data[:half])
        faults.point("atomic.partial", writing=True)
        _write_all(fd, data[half:])
        start_writeback(fd)
        staged = StagedFile(Path(tmp), path, fd)
        fd = tmp = None
        return staged
    except OSError as exc:
        raise _disk_error(path, exc) from exc
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def publish(staged: StagedFile) -> None:
    """Second half: fsync the staged temp file, close it, then rename it over its path (the rename is durable
    once the directory is fsynced). On failure the temp file is removed."""
    tmp, path, fd = staged
    try:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        faults.point("atomic.before_replace")
        os.replace(tmp, path)
        faults.point("atomic.after_replace")
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise _disk_error(Path(path), exc) from exc


def discard(staged: StagedFile) -> None:
    """Drop a staged file that will not be published (close it, remove the temp file); never raises."""
    with contextlib.suppress(OSError):
        os.close(staged.fd)
    with contextlib.suppress(OSError):
        os.unlink(staged.tmp)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically and durably (temp file, fsync, rename)."""
    publish(stage(path, data))


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def png_bytes(image) -> bytes:
    """Encode a PIL image as PNG deterministically (no timestamps or text chunks)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def write_image_atomic(path: str | os.PathLike, image) -> tuple[str, int]:
    """Write `image` as PNG atomically; return (sha256 hex, byte size)."""
    data = png_bytes(image)
    write_bytes_atomic(path, data)
    return hashlib.sha256(data).hexdigest(), len(data)
