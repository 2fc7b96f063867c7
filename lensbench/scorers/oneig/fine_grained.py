"""The official fine-grained tables (fine_grained_analysis.py @ 41b4983), from the per-prompt values (pure).

- alignment and diversity by prompt ``type`` (NP, "T, P") and ``prompt_length`` (short, middle, long): mean of the
  prompt scores with that tag (EN only: the ZH CSV has neither column, and the script runs these for EN only);
- text by length: per length, the mean of the per-prompt rows [ED, CR, WAC] (a prompt-weighted mean of prompt
  means, unlike the tile-weighted headline), EN only;
- reasoning by subject (both languages; subject order of the script);
- style by type: traditional / media / anime = the mean of the per-style means of the type's styles (style-
  weighted); a style of the type without prompts makes the official value NaN (``float`` of an empty cell) —
  reproduced as no value.
Values as printed: ``f"{score:.3f}"`` (kept unrounded here; reports round).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TAGS = ("NP", "T, P", "short", "middle", "long")
SUBJECTS = ("geography", "computer science", "biology", "mathematics", "physics", "chemistry", "common sense")
STYLE_TYPES = {
    "traditional": ("abstract_expressionism", "art_nouveau", "baroque", "chinese_ink_painting", "cubism", "fauvism",
                    "impressionism", "line_art", "minimalism", "pointillism", "pop_art", "rococo", "ukiyo-e"),
    "media": ("clay", "crayon", "graffiti", "lego", "comic", "pencil_sketch", "stone_sculpture", "watercolor"),
    "anime": ("celluloid", "chibi", "cyberpunk", "ghibli", "impasto", "pixar", "pixel_art", "3d_rendering"),
}


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def by_tag(scores: Mapping[str, float | None], meta: Mapping[str, Mapping[str, str]]) -> dict[str, float | None]:
    """item_id -> prompt score; meta: item_id -> {"type", "prompt_length"} (the EN prompt CSV)."""
    out = {}
    for tag in TAGS:
        key = "type" if tag in ("NP", "T, P") else "prompt_length"
        out[tag] = _mean([s for i, s in scores.items() if s is not None and meta.get(i, {}).get(key) == tag])
    return out


def text_by_length(rows: Mapping[str, Sequence[float]], meta: Mapping[str, Mapping[str, str]]) -> dict[str, float]:
    """item_id -> [ED, CR, WAC] prompt row -> ``{"<length>_<ED|CR|WAC>": mean}``."""
    out = {}
    for length in ("short", "middle", "long"):
        sel = [r for i, r in rows.items() if meta.get(i, {}).get("prompt_length") == length]
        if sel:
            for k, name in enumerate(("ED", "CR", "WAC")):
                out[f"{length}_{name}"] = sum(r[k] for r in sel) / len(sel)
            out[f"{length}_n"] = len(sel)
    return out


def by_subject(scores: Mapping[str, float | None], subjects: Mapping[str, str]) -> dict[str, float | None]:
    return {s: _mean([v for i, v in scores.items() if v is not None and subjects.get(i) == s]) for s in SUBJECTS}


def style_types(per_style: Mapping[str, float]) -> dict[str, float | None]:
    out = {}
    for name, styles in STYLE_TYPES.items():
        vals = [per_style.get(s) for s in styles]
        out[name] = None if any(v is None for v in vals) else sum(vals) / len(vals)
    return out


def fine_grained(v: dict[str, Any], d: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """All fine-grained tables from `summary.dimension_values` output and the suite data."""
    from lensbench.scorers.oneig import similarity as sim
    from lensbench.scorers.oneig import text as tx

    recs = v["records"]
    meta = d.get("meta", {})

    def scores(dim: str) -> dict[str, float | None]:
        return {r["item_id"]: r[dim].get("score") for r in recs if isinstance(r.get(dim), dict)}

    out: dict[str, dict[str, float | None]] = {}
    if d["lang"] == "en":
        out["alignment"] = by_tag(scores("alignment"), meta)
        out["diversity"] = by_tag(scores("diversity"), meta)
        out["text"] = text_by_length({k: tx.prompt_row(t) for k, t in v["text_tiles"].items()}, meta)
    reasoning = {r["oneig_id"]: r["reasoning"].get("score") for r in recs if isinstance(r.get("reasoning"), dict)}
    out["reasoning"] = by_subject(reasoning, d.get("subjects", {}))
    per_style = sim.style_table([(r["style"].get("style"), r["style"].get("score")) for r in recs
                                 if isinstance(r.get("style"), dict)])
    out["style"] = style_types(per_style)
    return {k: {c: x for c, x in t.items() if x is not None} for k, t in out.items()}
