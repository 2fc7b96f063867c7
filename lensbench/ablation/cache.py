"""A content-addressed image cache keyed by work-item key, shared across ablation cells and ablation runs.

The work-item key (lensbench.runners.plan) hashes everything that changes an image: model and weights, dtype, size,
steps, guidance, negative prompt, model options, the rewriter identity, suite, item, prompt, image index and seed.
Two cells (or two runs) that plan the same key would make the same image, so the image is made once:

    <cache>/<key[:2]>/<key>.png    the image (a hard link to the run's file when on the same filesystem, else a copy)
    <cache>/<key[:2]>/<key>.json   its generation record (written last: the commit marker of the entry)

`put` links/copies the image to a temp name and renames it into place, then writes the record atomically; `get`
trusts an entry only when the record exists and the image has the recorded size and sha256. `import_into` commits
cached images into a run directory exactly as the generate runner would (image first, then its record), so
`run_generate` afterwards finds them finished and generates only the rest. Images are never modified in place
(all writes are atomic renames), so hard links between runs and the cache are safe.

The cache trusts the key: if the weights behind a local --model-path change, use a fresh cache (``--no-cache`` or
another ``--cache`` directory).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lensbench.store.atomic import TMP_PREFIX, _disk_error, sha256_file, write_json_atomic
from lensbench.util.files import cache_root

#: run-specific record fields that are not carried from one run into another
_RUN_FIELDS = ("rank", "reused")


def default_cache_dir() -> Path:
    return cache_root() / "images"


def link_or_copy_atomic(src: Path, dst: Path) -> str:
    """Place `src`'s bytes at `dst` atomically: hard link when possible, else copy; returns "link" or "copy"."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=dst.parent)
    os.close(fd)
    os.unlink(tmp)
    how = "link"
    try:
        try:
            os.link(src, tmp)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
                raise
            how = "copy"
            shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _disk_error(dst, exc) from exc
    return how


class ImageCache:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()

    def _paths(self, key: str) -> tuple[Path, Path]:
        if len(key) < 8 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a work-item key: {key!r}")
        d = self.root / key[:2]
        return d / f"{key}.png", d / f"{key}.json"

    def get(self, key: str, *, verify: bool = True) -> dict[str, Any] | None:
        """The cached record of `key` if its image is intact (size, and sha256 when `verify`), else None."""
        png, meta = self._paths(key)
        try:
            rec = json.loads(meta.read_text(encoding="utf-8"))
            size = png.stat().st_size
        except (OSError, ValueError):
            return None
        if rec.get("key") != key or size != rec.get("bytes"):
            return None
        if verify and rec.get("sha256") and sha256_file(png) != rec["sha256"]:
            return None
        return rec

    def has(self, key: str) -> bool:
        """Cheap presence check (record + image of the recorded size; no hashing)."""
        return self.get(key, verify=False) is not None

    def put(self, run_dir: Path, record: dict[str, Any]) -> bool:
        """Add a finished image of `run_dir` (its generation record); False when already cached or not usable."""
        key = record.get("key")
        if record.get("status") != "ok" or not key or self.has(key):
            return False
        src = Path(record["image"])
        src = src if src.is_absolute() else Path(run_dir) / src
        if not src.is_file() or src.stat().st_size != record.get("bytes"):
            return False
        png, meta = self._paths(key)
        link_or_copy_atomic(src, png)
        clean = {k: v for k, v in record.items() if k not in _RUN_FIELDS}
        clean["origin_run"] = str(Path(run_dir).resolve())
        write_json_atomic(meta, clean)
        return True

    def import_into(self, store, key: str, image_relpath: str, *, verify: bool = True) -> dict[str, Any] | None:
        """Commit the cached image of `key` into the run `store` at `image_relpath` (image, then record).

        Returns the appended record, or None when the cache has no intact entry. The caller holds the run's lock.
        """
        rec = self.get(key, verify=verify)
        if rec is None:
            return None
        png, _ = self._paths(key)
        link_or_copy_atomic(png, store.path(image_relpath))
        new = {**{k: v for k, v in rec.items() if k not in _RUN_FIELDS and k != "origin_run"},
               "image": image_relpath, "rank": store.rank,
               "reused": {"from": "ablation-cache", "origin_run": rec.get("origin_run")}}
        store.append("generate", new)
        return new
