"""OneIG-Bench text rendering: the official logic of scripts/text/{text_score,text_utils}.py (pure; no model).

Ground truth = the ``text_content`` cell of ``text_content[_zh].csv`` *as is* (the Python-list repr string,
e.g. ``"['Sale', '50% off']"``): normalisation removes the brackets, quotes and commas.

Normalisation (``preprocess_string``): drop every character that is not a CJK ideograph U+4E00-U+9FA5, ASCII
letter or digit, whitespace, or one of the French accented letters ``àâäéèêëîïôöùûüçÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ``; if the
result contains a Chinese character (U+4E00-U+9FFF) all whitespace is removed too, otherwise runs of whitespace
become one space; strip. Case is kept (matching is case-sensitive). OCR output is first cleaned of the
hallucination keywords ``addCriterion`` and ``No text recognized.`` (with the period).

Per kept tile: ED = Levenshtein distance (characters) between OCR and GT; CR = 1 if ED == 0; word matches =
multiset intersection of whitespace words (characters when the GT contains Chinese); WAC of the tile = matches /
GT words. Model level (the printed numbers): ED and CR are means over ALL tiles of all prompts (tile-weighted),
WAC = sum of matches / sum of GT words (pooled), text score = 1 - min(MAX_ED, ED) * (1 - CR) * (1 - WAC) / MAX_ED
with MAX_ED = 100 (EN) / 50 (ZH). Per prompt (the prompt CSV): mean ED, mean CR, mean tile WAC.

Missing grid (0 or several files match ``<id>*``): the prompt is left out entirely. All tiles black: the
official loop reuses the OCR results of the previous prompt in CSV order (a stale variable; the very first
prompt crashes with NameError); ``black_grid="skip"`` (a fix) leaves such a prompt out instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lensbench.scorers.ocr.metrics import levenshtein  # the official numpy DP's unit-cost edit distance

_KEEP = "\u4e00-\u9fa5a-zA-Z0-9\\sàâäéèêëîïôöùûüçÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ"
_DROP_RE = re.compile(f"[^{_KEEP}]")
_KEEP_NO_SPACE_RE = re.compile("[\u4e00-\u9fa5a-zA-Z0-9àâäéèêëîïôöùûüçÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ]")
_CHINESE_RE = re.compile("[\u4e00-\u9fff]")
HALLUCINATIONS = ("addCriterion", "No text recognized.")
BLACK_GRID_MODES = ("stale", "skip")


def contains_chinese(text: str) -> bool:
    return bool(_CHINESE_RE.search(text))


def preprocess_string(s: str) -> str:
    cleaned = _DROP_RE.sub("", s)
    if contains_chinese(cleaned):
        return "".join(_KEEP_NO_SPACE_RE.findall(s)).strip()
    return re.sub(r"\s+", " ", cleaned).strip()


def clean_hallucinations(texts: Sequence[str]) -> list[str]:
    out = list(texts)
    for kw in HALLUCINATIONS:
        out = [t.replace(kw, "").replace(f"\n{kw}", "").replace(f"{kw}\n", "") for t in out]
    return out


def match_counts(gt: str, ocr: str) -> tuple[int, float, int]:
    """calculate_char_match_ratio: (matches, ratio, GT count); characters when the GT contains Chinese."""
    if contains_chinese(gt):
        g, o = Counter(gt), Counter(ocr)
        total = sum((g & o).values())
        return total, (total / len(gt) if len(gt) > 0 else 0.0), sum(g.values())
    g, o = Counter(gt.split()), Counter(ocr.split())
    total = sum((g & o).values())
    n = len(gt.split())
    return total, (total / n if n > 0 else 0.0), sum(g.values())


def max_new_tokens(gt_raw: str) -> int:
    from lensbench.scorers.oneig.official import LONG_TEXT_WORDS, OCR_TOKENS_LONG, OCR_TOKENS_SHORT

    return OCR_TOKENS_LONG if len(gt_raw.split()) > LONG_TEXT_WORDS else OCR_TOKENS_SHORT


def tile_metrics(gt_raw: str, ocr_texts: Sequence[str]) -> list[dict[str, float]]:
    """Per tile: ed, cr, matches, gt_words, wac (after hallucination cleaning and normalisation)."""
    gt = preprocess_string(gt_raw)
    out = []
    for text in clean_hallucinations(ocr_texts):
        ocr = preprocess_string(text)
        ed = levenshtein(ocr, gt)
        matches, wac, gt_words = match_counts(gt, ocr)
        out.append({"ed": float(ed), "cr": 1.0 if ed == 0 else 0.0, "matches": matches, "gt_words": gt_words,
                    "wac": wac})
    return out


def prompt_row(tiles: Sequence[dict[str, float]]) -> list[float] | None:
    """The official per-prompt row [mean ED, mean CR, mean tile WAC] (None without tiles)."""
    if not tiles:
        return None
    n = len(tiles)
    return [sum(t["ed"] for t in tiles) / n, sum(t["cr"] for t in tiles) / n, sum(t["wac"] for t in tiles) / n]


@dataclass
class TextPrompt:
    """One text prompt in CSV order: its id, GT and OCR texts (None: grid missing; [] : all tiles black)."""

    item_id: str
    gt_raw: str
    ocr: list[str] | None
    tiles: list[dict[str, float]] = field(default_factory=list)
    note: str | None = None


def resolve_prompts(prompts: Sequence[TextPrompt], *, black_grid: str = "stale") -> list[TextPrompt]:
    """Compute tile metrics in CSV order, applying the official stale-OCR quirk to all-black grids."""
    last: list[str] | None = None
    for p in prompts:
        if p.ocr is None:
            p.tiles, p.note = [], "grid missing or ambiguous: left out (official)"
            continue
        texts = p.ocr
        if not texts:
            if black_grid == "skip" or last is None:
                p.tiles = []
                p.note = ("all tiles black: left out (black_grid=skip)" if black_grid == "skip" else
                          "all tiles black and no earlier prompt: the official script crashes (NameError); left out")
                continue
            texts, p.note = last, "all tiles black: scored with the previous prompt's OCR results (official quirk)"
        else:
            last = list(texts)
        p.tiles = tile_metrics(p.gt_raw, texts)
    return list(prompts)


def text_summary(tiles: Sequence[dict[str, float]], max_ed: int) -> dict[str, Any] | None:
    """Model-level ED, CR, WAC and text score over all tiles (official text_score.py)."""
    if not tiles:
        return None
    ed = sum(t["ed"] for t in tiles) / len(tiles)
    cr = sum(t["cr"] for t in tiles) / len(tiles)
    gt_words = sum(t["gt_words"] for t in tiles)
    wac = sum(t["matches"] for t in tiles) / gt_words if gt_words else float("nan")  # official: ZeroDivisionError
    score = 1 - min(max_ed, ed) * (1 - cr) * (1 - wac) / max_ed
    return {"ED": ed, "CR": cr, "WAC": wac, "text score": score, "n_tiles": len(tiles)}
