"""Score a folder of official-layout DPG-Bench grids made by another tool (no lensbench manifest).

Official layout (compute_dpg_bench.py): every entry of ``os.listdir(image_root)`` is a candidate; the item
id is ``basename.split('.')[0]``; files that are not images fail and are skipped. Here only files with an
image suffix are taken (the others would fail in the official script too). The suite is built from the
prompts folder (scorer option ``prompts``, else the cache) or, failing that, from the CSV's ``text`` column.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lensbench.errors import UserError
from lensbench.scorers.dpg.questions import QuestionTable
from lensbench.suites.base import PromptItem

if TYPE_CHECKING:
    from lensbench.suites.dpg import DpgSuite

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def _suite_for(csv: str | None, prompts_dir: str | None, questions: Callable[[], QuestionTable]) -> "DpgSuite":
    from lensbench.suites import dpg_data
    from lensbench.suites.dpg import DpgSuite, load_prompts

    options: dict[str, Any] = {"download": "never"}
    if csv:
        options["csv"] = str(Path(str(csv)).expanduser().resolve())
    prompts = Path(str(prompts_dir)).expanduser() if prompts_dir else dpg_data.default_prompts_dir()
    if prompts.is_dir():
        options["prompts"] = str(prompts.resolve())
        return DpgSuite(load_prompts(prompts), source=None, options=options)
    if prompts_dir:
        raise UserError(f"DPG-Bench prompts folder {prompts} does not exist; fix -O prompts=DIR")
    table = questions()
    if table.dropped_row is not None and table.dropped_row.get("item_id") not in table.texts:
        table.texts.setdefault(str(table.dropped_row["item_id"]), str(table.dropped_row.get("text", "")))
    items = [PromptItem(id=i, prompt=t.strip()) for i, t in sorted(table.texts.items())]
    options["prompts"] = "csv text column"
    return DpgSuite(items, source=None, options=options)


def discover_grids(run_dir: Path, *, csv: str | None, prompts: str | None,
                   questions: Callable[[], QuestionTable]) -> tuple["DpgSuite", list[dict[str, Any]]]:
    """(suite, pseudo generation records with ``grid: True``) for the grid images directly in `run_dir`; the
    suite comes from the `prompts` folder (else the cache) or the CSV text column (`questions()` reads it)."""
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is not a directory; pass a run directory or a folder of DPG-Bench grid images")
    files = sorted(p for p in run_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(
            f"{run_dir} has no manifest.json and no grid images (<item_id>.png); pass a lensbench run or a folder of 2x2 grids"
        )
    suite = _suite_for(csv, prompts, questions)
    known = {it.id for it in suite.items()}
    records, seen, unknown = [], {}, []
    for p in files:
        item_id = p.name.split(".")[0]  # official: osp.basename(image_path).split('.')[0]
        if item_id not in known:
            unknown.append(p.name)
            continue
        if item_id in seen:
            raise UserError(f"{run_dir} has two images for item {item_id!r} ({seen[item_id]}, {p.name}); keep one")
        seen[item_id] = p.name
        records.append({"key": f"dpg/{item_id}", "item_id": item_id, "index": 0, "image": str(p.resolve()),
                        "status": "ok", "grid": True})  # fmt: skip
    if unknown:
        log.warning("%d image(s) in %s are not DPG-Bench items and are skipped (e.g. %s)", len(unknown), run_dir, unknown[0])
    if not records:
        raise UserError(f"none of the {len(files)} images in {run_dir} is named <item_id>.png for a DPG-Bench item; check the folder")
    return suite, records
