"""A suite from a JSONL file: one ``{"id": ..., "prompt": ..., ...metadata}`` object per line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.suites.base import PromptItem, Suite


class JsonlSuite(Suite):
    version = "1"
    default_images_per_prompt = 1


def parse_jsonl_items(path: Path) -> list[PromptItem]:
    if not path.exists():
        raise UserError(f"suite file {path} does not exist; pass a registered suite name or an existing .jsonl file")
    items = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{lineno}: not valid JSON ({exc.msg}); fix that line") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("prompt"), str) or not obj["prompt"].strip():
                raise UserError(f'{path}:{lineno}: each line needs a non-empty "prompt" string (and optionally "id"); fix that line')
            item_id = str(obj.get("id", f"{lineno - 1:05d}"))
            meta = {k: v for k, v in obj.items() if k not in ("id", "prompt", "category")}
            items.append(PromptItem(id=item_id, prompt=obj["prompt"], metadata=meta, category=obj.get("category")))
    if not items:
        raise UserError(f"suite file {path} has no prompts")
    return items


def load_jsonl_suite(path: Path, options: dict[str, Any]) -> Suite:
    suite = JsonlSuite(parse_jsonl_items(path), source=str(path), options=options)
    suite.name = path.stem
    return suite
