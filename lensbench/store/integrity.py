"""Is an image on disk the one its record committed?

Two levels:

- `quick_check` (every resume and before scoring): the file exists, has the recorded byte size, starts with
  the PNG signature and ends with the IEND chunk. It costs one ``stat`` and two small reads, and catches
  missing, truncated and torn files (a copy cut short, a disk that filled up, a file overwritten by hand).
- `full_check` (``verify=True`` / ``lensbench verify``): the sha256 of the bytes equals the record's. It
  reads every byte, and also catches corruption in the middle of a file.

`scan_run` applies them to every generation record of a run directory and also lists images that no record
commits (an image written just before its process was killed, or a stray file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensbench.store.atomic import TMP_PREFIX, sha256_file

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: the last 12 bytes of every complete PNG: length 0, type "IEND", CRC-32 of "IEND" (PNG spec, section 11.2.5)
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def quick_check(path: str | os.PathLike, expected_bytes: int | None = None) -> str | None:
    """None when the file looks complete; otherwise what is wrong (one short phrase)."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if expected_bytes is not None and size != expected_bytes:
        return f"size {size} bytes, recorded {expected_bytes}"
    if p.suffix.lower() != ".png":
        return None if size > 0 else "empty"
    if size < len(PNG_SIGNATURE) + len(PNG_IEND):
        return "truncated PNG"
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(PNG_SIGNATURE))
            fh.seek(-len(PNG_IEND), os.SEEK_END)
            tail = fh.read(len(PNG_IEND))
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if head != PNG_SIGNATURE:
        return "not a PNG (bad signature)"
    if tail != PNG_IEND:
        return "truncated PNG (no IEND chunk)"
    return None


def full_check(path: str | os.PathLike, expected_bytes: int | None, expected_sha256: str | None) -> str | None:
    problem = quick_check(path, expected_bytes)
    if problem is None and expected_sha256 and sha256_file(path) != expected_sha256:
        return "sha256 differs from the record"
    return problem


OUTSIDE = "path outside the run directory"


def inside(run_dir: str | os.PathLike, relpath: str | os.PathLike) -> bool:
    """Does `relpath` (from a record) name a file inside `run_dir`, after resolving ``..`` and links?"""
    p = Path(relpath)
    root = Path(run_dir).resolve()
    target = (root / p).resolve()
    return not p.is_absolute() and ".." not in p.parts and target.is_relative_to(root) and target != root


def record_problem(run_dir: Path, rec: dict[str, Any], *, verify: bool = False) -> str | None:
    """What is wrong with an ok generation record's image (None: it is committed and intact)."""
    rel = rec.get("image")
    if not rel:
        return "record has no image path"
    p = Path(rel)
    path = p if p.is_absolute() else Path(run_dir) / p
    if not inside(run_dir, p):
        return OUTSIDE
    if verify:
        return full_check(path, rec.get("bytes"), rec.get("sha256"))
    return quick_check(path, rec.get("bytes"))


@dataclass
class ScanReport:
    checked: int = 0
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (image relpath, problem)
    orphans: list[str] = field(default_factory=list)  # images in image folders that no ok record commits
    temp_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.temp_files

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "damaged": [{"image": i, "problem": p} for i, p in self.damaged],
                "orphans": self.orphans, "temp_files": self.temp_files, "ok": self.ok}


def scan_run(run_dir: str | os.PathLike, records: list[dict[str, Any]], *, verify: bool = True) -> ScanReport:
    """Check every ok record's image; list orphan images (in folders holding recorded images) and temp files."""
    run_dir = Path(run_dir)
    report = ScanReport()
    recorded: set[Path] = set()
    folders: set[Path] = set()
    for rec in records:
        if rec.get("status") != "ok" or not rec.get("image"):
            continue
        report.checked += 1
        if not inside(run_dir, rec["image"]):
            report.damaged.append((rec["image"], OUTSIDE))
            continue
        path = (run_dir / rec["image"]).resolve()
        recorded.add(path)
        folders.add(path.parent)
        problem = record_problem(run_dir, rec, verify=verify)
        if problem:
            report.damaged.append((rec["image"], problem))
    for folder in sorted(folders):
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.suffix.lower() == ".png" and not f.name.startswith(TMP_PREFIX) and f.resolve() not in recorded:
                report.orphans.append(str(f.relative_to(run_dir)))
    report.temp_files = sorted(str(t.relative_to(run_dir)) for t in run_dir.rglob(f"{TMP_PREFIX}*"))
    return report
