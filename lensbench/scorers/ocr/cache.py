"""OCR results cached per image: ``<root>/<settings-hash>/<sha256[:2]>/<sha256>.json``.

The key is the image's sha256 (taken from the generation record, so a hit reads no pixels and not even the
file) plus a hash of the OCR backend's `settings()` (model files, thresholds, device, batching). Re-scoring a run
with other metric options, or with another scorer that uses the same OCR (text / longtext / cvtg), reuses the
cached lines. Entries are written atomically; concurrent writers of one entry write identical content.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lensbench.scorers.ocr.backends import OcrLine
from lensbench.store.atomic import write_json_atomic


def settings_key(settings: dict[str, Any]) -> str:
    """A short stable hash of OCR settings (what a cache entry depends on)."""
    blob = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class OcrCache:
    def __init__(self, root: str | Path, settings: dict[str, Any]):
        self.key = settings_key(settings)
        self.dir = Path(root) / self.key
        self._settings = settings
        self.hits = 0
        self.misses = 0

    def path(self, sha256: str) -> Path:
        return self.dir / sha256[:2] / f"{sha256}.json"

    def get(self, sha256: str) -> list[OcrLine] | None:
        p = self.path(sha256)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            self.misses += 1
            return None
        self.hits += 1
        return [OcrLine.from_list(x) for x in data["lines"]]

    def put(self, sha256: str, lines: list[OcrLine]) -> None:
        settings_file = self.dir / "settings.json"
        if not settings_file.exists():
            write_json_atomic(settings_file, self._settings)
        write_json_atomic(self.path(sha256), {"sha256": sha256, "lines": [ln.to_list() for ln in lines]})
