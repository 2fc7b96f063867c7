"""Suites: what to generate (prompt items) and where each image lives in a run directory.

A suite is a list of `PromptItem`s plus a layout. Suite-specific behaviour (GenEval's official folder
layout, DPG-Bench's 2x2 grids) lives in subclasses that override `image_relpath`, `prepare_item` and
`finalize_item`; the generate runner calls these hooks and knows nothing about any particular suite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PromptItem:
    """One prompt of a suite.

    id:        stable identifier inside the suite (used in paths and work-item keys).
    prompt:    text sent to the model (after language rendering; before any prompt rewriter).
    metadata:  suite-specific JSON-serialisable data the scorer needs (GenEval record, DPG questions, ...).
    category:  optional category for per-category tables.
    """

    id: str
    prompt: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prompt": self.prompt, "category": self.category, "metadata": dict(self.metadata)}


class Suite:
    """A named, versioned list of prompt items with an image layout.

    Subclasses set `name`, `version`, `default_images_per_prompt` and may override the layout hooks.
    """

    name: str = "suite"
    version: str = "1"
    default_images_per_prompt: int = 1
    #: the layout's limit (e.g. DPG-Bench's 2x2 grid holds 4); None = no limit
    max_images_per_prompt: int | None = None
    #: name of the scorer that `lensbench score` uses by default for this suite (None: no default)
    default_scorer: str | None = None

    def __init__(self, items: Sequence[PromptItem], *, source: str | None = None, options: Mapping[str, Any] | None = None):
        ids = [it.id for it in items]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            from lensbench.errors import UserError

            raise UserError(f"suite {self.name!r} has duplicate item id {dup!r}; item ids must be unique")
        self._items = list(items)
        self.source = source
        self.options = dict(options or {})

    # -- content ---------------------------------------------------------------------------------
    def items(self) -> list[PromptItem]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def checksum(self) -> str:
        """sha256 over the canonical JSON of all items (ids, prompts, metadata, categories)."""
        h = hashlib.sha256()
        for it in self._items:
            h.update(json.dumps(it.to_dict(), sort_keys=True, ensure_ascii=False).encode())
            h.update(b"\n")
        return h.hexdigest()

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this suite."""
        return {
            "name": self.name,
            "version": self.version,
            "n_items": len(self._items),
            "checksum": self.checksum(),
            "source": self.source,
            "options": self.options,
        }

    # -- layout hooks ----------------------------------------------------------------------------
    def image_relpath(self, item: PromptItem, index: int) -> str:
        """Where image `index` of `item` is stored, relative to the run directory."""
        return f"images/{self.name}/{_safe(item.id)}/{index:04d}.png"

    def prepare_item(self, run_dir: Path, item: PromptItem) -> None:
        """Called before the first image of `item` is generated (e.g. to write per-item metadata)."""

    def finalize_item(self, run_dir: Path, item: PromptItem, image_relpaths: Sequence[str]) -> None:
        """Called once every image of `item` exists (e.g. to compose a grid). Must be idempotent."""


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
