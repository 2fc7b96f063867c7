"""File plumbing: sha256 of a file, the cache root, cached directories built atomically, JSONL lines."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lensbench.errors import UserError

CACHE_ENV = "LENSBENCH_CACHE"
DEFAULT_CACHE = "~/.cache/lensbench"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_root() -> Path:
    """``$LENSBENCH_CACHE`` (``~`` expanded), else ``~/.cache/lensbench``. Sub-caches live below it
    (``data/``, ``tiny/``, ``images/``, ``rewrites/``)."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def build_dir_atomic(target: str | os.PathLike, build: Callable[[Path], None],
                     is_complete: Callable[[Path], bool]) -> Path:
    """Return `target`, building it first with ``build(tmp_dir)`` unless ``is_complete(target)``.

    The build goes into a private temp dir beside `target` that is renamed into place, so a reader never sees
    a partial directory. A stale, incomplete `target` (e.g. from a crashed older build) is moved aside and
    removed first. Two racing processes are safe: the loser of the rename discards its copy and uses the
    winner's. `build` must leave a directory for which `is_complete` is true (e.g. write a marker last)."""
    target = Path(target)
    if is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-build-{uuid.uuid4().hex[:8]}-", dir=target.parent))
    try:
        build(tmp)
        if not is_complete(tmp):
            raise RuntimeError(f"building {target.name} did not finish {tmp}")
        if target.exists() and not is_complete(target):
            stale = target.with_name(f".{target.name}-stale-{uuid.uuid4().hex[:8]}")
            try:
                os.replace(target, stale)
            except OSError:
                pass
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(tmp, target)  # atomic; fails if another process already put a (non-empty) dir there
        except OSError:
            if not is_complete(target):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def iter_jsonl(path: str | os.PathLike, hint: str = "fix that line", *, text: str | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, value)`` for every non-blank line of a JSONL file (or of `text`, already read from
    `path`). A line that is not JSON raises ``UserError("path:line: not valid JSON (...); <hint>")``; callers
    validate the values and name ``path:line`` in their own messages the same way."""
    p = Path(path)
    with contextlib.ExitStack() as stack:
        lines = text.split("\n") if text is not None else stack.enter_context(open(p, encoding="utf-8"))
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{p}:{lineno}: not valid JSON ({exc.msg}); {hint}") from None
            yield lineno, value
