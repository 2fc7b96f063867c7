"""Contact sheets: the same prompts (first image of each) side by side across runs/models."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lensbench.reports import charts
from lensbench.reports.runs import RunData
from lensbench.store.run_store import RunStore

THUMB_PX = 192


def _first_images(run: RunData) -> dict[str, tuple[str, Path]]:
    """item_id -> (prompt, path of its lowest-index image) from the run's generation records."""
    store = RunStore(run.path)
    best: dict[str, tuple[int, str, Path]] = {}
    for rec in store.records("generate"):
        if rec.get("status") != "ok" or not rec.get("image") or "item_id" not in rec:
            continue
        idx = int(rec.get("index") or 0)
        item = str(rec["item_id"])
        if item not in best or idx < best[item][0]:
            best[item] = (idx, str(rec.get("prompt") or item), store.path(rec["image"]))
    return {k: (p, path) for k, (_i, p, path) in best.items() if path.exists()}


def select_prompts(per_run: list[dict[str, tuple[str, Path]]], n: int) -> list[str]:
    """Item ids present in every run, sorted, first n."""
    if not per_run:
        return []
    common = set(per_run[0])
    for d in per_run[1:]:
        common &= set(d)
    return sorted(common)[:n]


def contact_sheet(runs: list[RunData], base: Path, n_prompts: int = 6, title: str = "Same prompts across runs") -> list[Path]:
    """Rows = prompts, columns = runs. Returns [] when the runs share no generated prompt."""
    from PIL import Image

    import matplotlib

    per_run = [_first_images(r) for r in runs]
    keep = [(r, d) for r, d in zip(runs, per_run) if d]
    if not keep:
        return []
    items = select_prompts([d for _r, d in keep], n_prompts)
    if not items:
        return []
    ncol, nrow = len(keep), len(items)
    with matplotlib.rc_context(charts._RC):
        fig = charts._figure(1.7 * ncol + 1.5, 1.7 * nrow + 0.8)
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for j, (run, d) in enumerate(keep):
            axes[0][j].set_title(f"{run.model}\n{run.label}", fontsize=7)
            for i, item in enumerate(items):
                ax = axes[i][j]
                with Image.open(d[item][1]) as im:
                    im = im.convert("RGB")
                    im.thumbnail((THUMB_PX, THUMB_PX))
                    ax.imshow(im)
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ax.spines.values():
                    side.set_visible(False)
                if j == 0:
                    prompt = textwrap.shorten(keep[0][1][item][0], 90, placeholder="…")
                    ax.set_ylabel("\n".join(textwrap.wrap(prompt, 22)[:4]), fontsize=6, rotation=0, ha="right",
                                  va="center", labelpad=4)
        fig.suptitle(title)
        return charts.save(fig, base)
