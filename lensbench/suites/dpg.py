"""DPG-Bench suite: 1,065 dense prompts; 4 images per prompt composed into the official 2x2 grid.

Layout in a run directory (the ``dpg/`` folder is what the official scorer reads)::

    dpg/tiles/<item_id>/<n>.png   generated images, n = 0..3 (tile order: TL, TR, BL, BR)
    dpg/<item_id>.png             the 2R x 2R grid, composed by `finalize_item` (atomic, idempotent)

Options (``-S key=value``):
    prompts   folder of ``<item_id>.txt`` files (default: the cache, downloaded from the pinned upstream
              commit when missing and ``download`` allows it)
    csv       the question CSV ``dpg_bench.csv`` (only needed to score; the scorer reads it)
    download  ``auto`` (default: fetch into the cache when missing) or ``never``

Item id = file stem; prompt = file text stripped of surrounding whitespace (2 upstream files have some).
Source: TencentQQGYLab/ELLA dpg_bench/ (commit 3c228f1), README "generate 4 images per prompt and grid them
to 2x2".
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.suites.base import PromptItem, Suite
from lensbench.suites import dpg_data

OPTIONS = ("prompts", "csv", "download")


def load_prompts(prompts_dir: str | Path) -> list[PromptItem]:
    """One `PromptItem` per ``<item_id>.txt`` (sorted by id), prompt stripped; UserError names bad files."""
    d = Path(prompts_dir)
    if not d.is_dir():
        raise UserError(f"DPG-Bench prompts folder {d} does not exist; pass -S prompts=DIR (the upstream dpg_bench/prompts)")
    files = sorted(p for p in d.iterdir() if p.suffix == ".txt" and p.is_file())
    if not files:
        raise UserError(f"DPG-Bench prompts folder {d} has no .txt files; pass -S prompts=DIR (the upstream dpg_bench/prompts)")
    items = []
    for p in files:
        item_id = p.stem
        if "." in item_id:
            raise UserError(f"{p}: item ids must not contain '.' (the official scorer cuts file names at the first '.'); rename it")
        try:
            text = p.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError as exc:
            raise UserError(f"{p} is not UTF-8 text ({exc.reason}); restore the upstream file") from None
        if not text:
            raise UserError(f"{p} is empty; restore the upstream prompt file")
        items.append(PromptItem(id=item_id, prompt=text))
    return items


class DpgSuite(Suite):
    name = "dpg"
    version = "1"
    default_images_per_prompt = 4
    max_images_per_prompt = 4  # the official 2x2 grid
    default_scorer = "dpg"

    @property
    def csv_path(self) -> str | None:
        return self.options.get("csv")

    def image_relpath(self, item: PromptItem, index: int) -> str:
        return f"dpg/tiles/{item.id}/{index}.png"

    def grid_relpath(self, item_or_id: PromptItem | str) -> str:
        item_id = item_or_id.id if isinstance(item_or_id, PromptItem) else item_or_id
        return f"dpg/{item_id}.png"

    def finalize_item(self, run_dir: Path, item: PromptItem, image_relpaths: Sequence[str]) -> None:
        """Compose the official 2x2 grid from the tiles (in index order) and write it atomically.

        Idempotent: an existing grid with identical bytes is left alone."""
        from lensbench.store.atomic import png_bytes
        from lensbench.suites.grid import write_grid

        write_grid(run_dir, image_relpaths, Path(run_dir) / self.grid_relpath(item), png_bytes)


def _resolve_prompts_dir(source: str | None, options: Mapping[str, Any]) -> Path:
    given = options.get("prompts") or source
    if given:
        return Path(str(given)).expanduser().resolve()
    default = dpg_data.default_prompts_dir()
    if default.is_dir():
        return default
    mode = str(options.get("download", "auto")).lower()
    offline = next((v for v in ("LENSBENCH_OFFLINE", "HF_HUB_OFFLINE") if os.environ.get(v) == "1"), None)
    if mode == "never" or offline:
        why = f"{offline}=1 forbids the download" if offline and mode != "never" else "download=never"
        raise UserError(
            f"DPG-Bench prompts not found in {default} ({why}); pass -S prompts=DIR "
            f"(upstream {dpg_data.UPSTREAM_REPO} dpg_bench/prompts) or run `lensbench dpg fetch` with a network"
        )
    dpg_data.fetch_dpg_data()
    return default


def dpg_suite(source: str | None, options: dict[str, Any]) -> DpgSuite:
    """Suite factory (registered as "dpg")."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UserError(f"unknown dpg suite option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    if str(options.get("download", "auto")).lower() not in ("auto", "never"):
        raise UserError(f"dpg suite option download must be 'auto' or 'never', got {options['download']!r}")
    prompts_dir = _resolve_prompts_dir(source, options)
    recorded: dict[str, Any] = {"prompts": str(prompts_dir)}
    if options.get("csv"):
        csv_path = Path(str(options["csv"])).expanduser().resolve()
        if not csv_path.is_file():
            raise UserError(f"DPG-Bench question CSV {csv_path} not found; fix -S csv=PATH (it is only needed for scoring)")
        recorded["csv"] = str(csv_path)
    if "download" in options:
        recorded["download"] = str(options["download"]).lower()
    return DpgSuite(load_prompts(prompts_dir), source=source, options=recorded)
