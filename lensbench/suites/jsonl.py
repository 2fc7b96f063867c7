"""A suite from a JSONL file: one ``{"id": ..., "prompt": ..., ...metadata}`` object per line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.filecheck import read_text_file
from lensbench.suites.base import PromptItem, Suite
from lensbench.util.files import iter_jsonl, sha256_file


class JsonlSuite(Suite):
    """The manifest records the file's absolute path and sha256, so `score` re-reads exactly this file."""

    version = "1"
    default_images_per_prompt = 1
    file_sha256: str | None = None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kind": "jsonl", "path": self.source, "sha256": self.file_sha256}


def parse_jsonl_items(path: Path) -> list[PromptItem]:
    text = read_text_file(path, "suite file", "pass a registered suite name or an existing .jsonl file")
    items = []
    first_line: dict[str, int] = {}
    for lineno, obj in iter_jsonl(path, text=text):
        if not isinstance(obj, dict) or not isinstance(obj.get("prompt"), str) or not obj["prompt"].strip():
            raise UserError(f'{path}:{lineno}: each line needs a non-empty "prompt" string (and optionally "id"); fix that line')
        item_id = str(obj.get("id", f"{lineno - 1:05d}"))
        if item_id in first_line:
            raise UserError(f"{path}:{lineno}: duplicate id {item_id!r} (first on line {first_line[item_id]}); "
                            "ids must be unique: fix that line")
        first_line[item_id] = lineno
        meta = {k: v for k, v in obj.items() if k not in ("id", "prompt", "category")}
        items.append(PromptItem(id=item_id, prompt=obj["prompt"], metadata=meta, category=obj.get("category")))
    if not items:
        raise UserError(f"suite file {path} has no prompts")
    return items


def load_jsonl_suite(path: Path, options: dict[str, Any]) -> Suite:
    suite = JsonlSuite(parse_jsonl_items(path), source=str(Path(path).resolve()), options=options)
    suite.name = path.stem
    suite.file_sha256 = sha256_file(path)
    return suite
