"""Atomic file writes: write to a temp file in the same directory, fsync, then os.replace.

A reader never sees a half-written file; a process killed mid-write leaves at most a ``.tmp-*`` file that
the next run ignores and removes.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

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


def stage_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """First half of an atomic write: `data` in a temp file next to `path` (not fsynced, not visible under
    `path`). `publish` finishes it; a process that dies in between leaves only a ``.tmp-*`` file."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=tmp_prefix(), dir=path.parent)
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            half = len(data) // 2
            fh.write(data[:half])
            fh.flush()
            faults.point("atomic.partial", writing=True)
            fh.write(data[half:])
        staged, tmp = Path(tmp), None
        return staged
    except OSError as exc:
        raise _disk_error(path, exc) from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def publish(tmp: Path, path: str | os.PathLike) -> None:
    """Second half: fsync the staged temp file, then rename it over `path` (the rename is durable once the
    directory is fsynced). On failure the temp file is removed."""
    try:
        fd = os.open(tmp, os.O_RDONLY)
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


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically and durably (temp file, fsync, rename)."""
    publish(stage_bytes(path, data), path)


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
