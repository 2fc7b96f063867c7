"""The one file lock: an exclusive, non-blocking fcntl lock held for a ``with`` block."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator

from typing import IO


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, busy: Callable[[str], Exception], note: str | None = None) -> Iterator[IO[str]]:
    """Hold an exclusive lock on `path` (created if needed). If another process holds it, raise
    ``busy(holder)`` where `holder` is the text the holder wrote into the lock file (or "another process").
    `note` (e.g. "pid 12 on host") is written into the file while the lock is held."""
    fh = open(path, "a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise busy(holder) from None
    try:
        if note is not None:
            fh.seek(0)
            fh.truncate()
            fh.write(note)
            fh.flush()
        yield fh
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def holder_note() -> str:
    """What a lock holder writes into its lock file."""
    return f"pid {os.getpid()} on {os.uname().nodename}"



