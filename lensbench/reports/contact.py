"""Contact sheets: the same prompts (first image of each) side by side across runs/models."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lensbench.reports import style
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


def contact_sheet_figure(runs: list[RunData], n_prompts: int = 6, title: str = "Same prompts across runs"):
    """Rows = prompts, columns = runs; the prompts sit in their own text column (wrapped, never clipped).
    Returns None when the runs share no generated prompt."""
    from PIL import Image

    import matplotlib

    per_run = [_first_images(r) for r in runs]
    keep = [(r, d) for r, d in zip(runs, per_run) if d]
    if not keep:
        return None
    items = select_prompts([d for _r, d in keep], n_prompts)
    if not items:
        return None
    ncol, nrow = len(keep), len(items)
    with matplotlib.rc_context(style.rc()):
        s = style.current()
        cell = style.scale(1.5)
        text_w = style.scale(1.6)
        fig = style.figure((cell * ncol + text_w) / s.width_in, 1.5 * nrow + 0.9)
        grid = fig.add_gridspec(nrow, ncol + 1, width_ratios=[text_w] + [cell] * ncol)
        chars = max(12, int(text_w * 72 / (s.small_font * 0.6)))
        for i, item in enumerate(items):
            tax = fig.add_subplot(grid[i, 0])
            tax.axis("off")
            prompt = textwrap.shorten(keep[0][1][item][0], 120, placeholder="…")
            tax.text(1.0, 0.5, "\n".join(textwrap.wrap(prompt, chars)[:5]), ha="right", va="center",
                     fontsize=s.small_font, transform=tax.transAxes, wrap=False)
            for j, (run, d) in enumerate(keep):
                ax = fig.add_subplot(grid[i, j + 1])
                with Image.open(d[item][1]) as im:
                    im = im.convert("RGB")
                    im.thumbnail((THUMB_PX, THUMB_PX))
                    ax.imshow(im)
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ax.spines.values():
                    side.set_visible(False)
                if i == 0:
                    head = "\n".join(textwrap.wrap(f"{run.model} ({run.label})", max(10, int(cell * 72 / (s.small_font * 0.6)))))
                    ax.set_title(head, fontsize=s.small_font)
        fig.suptitle(title)
        return fig


def contact_sheet(runs: list[RunData], base: Path, n_prompts: int = 6, title: str = "Same prompts across runs") -> list[Path]:
    """Rows = prompts, columns = runs. Returns [] when the runs share no generated prompt."""
    fig = contact_sheet_figure(runs, n_prompts, title)
    return [] if fig is None else style.save(fig, base)
