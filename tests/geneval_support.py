"""Shared by GenEval-based tests: a small metadata file of official records the tiny detector can judge."""

from __future__ import annotations

import json
from pathlib import Path

TINY_CLASSES = frozenset({"dog", "cat", "car"})


def write_tiny_metadata(shared_data: Path, dest: Path, single_object_extra: frozenset[str] = frozenset()) -> int:
    """Write the first official record of each tag whose classes are all in TINY_CLASSES (single_object may
    also use `single_object_extra`) to `dest`, in the official tag order; return how many were written."""
    lines = (shared_data / "geneval" / "evaluation_metadata.jsonl").read_text().splitlines()
    picked: dict[str, dict] = {}
    for r in map(json.loads, lines):  # file order is the official tag order
        allowed = TINY_CLASSES | (single_object_extra if r["tag"] == "single_object" else frozenset())
        if r["tag"] not in picked and {c["class"] for c in r["include"]} <= allowed:
            picked[r["tag"]] = r
    dest.write_text("".join(json.dumps(r) + "\n" for r in picked.values()))
    return len(picked)
