"""The official fine-grained tables (fine_grained_analysis.py @ 41b4983), from the per-prompt values (pure).

- alignment and diversity by prompt ``type`` (NP, "T, P") and ``prompt_length`` (short, middle, long): mean of the
  prompt scores with that tag (EN only: the ZH CSV has neither column, and the script runs these for EN only);
  an alignment prompt scored None (all tiles black) makes its buckets NaN officially (``float`` of the empty cell);
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


def by_tag(scores: Mapping[str, float | None], meta: Mapping[str, Mapping[str, str]], *,
           missing: str = "nan") -> dict[str, float | None]:
    """item_id -> prompt score; meta: item_id -> {"type", "prompt_length"} (the EN prompt CSV).

    A prompt row whose score is None (alignment: all tiles black, written as an empty cell) is read back as NaN
    and ``float``-summed by the official script, so its buckets are NaN (``missing="nan"``, official: no value
    here); ``missing="skip"`` (a fix) leaves such prompts out of the bucket."""
    out = {}
    for tag in TAGS:
        key = "type" if tag in ("NP", "T, P") else "prompt_length"
        sel = [s for i, s in scores.items() if meta.get(i, {}).get(key) == tag]
        out[tag] = None if missing == "nan" and any(s is None for s in sel) else _mean([s for s in sel if s is not None])
    return out


def text_by_length(rows: Mapping[str, Sequence[float]], meta: Mapping[str, Mapping[str, str]]) -> dict[str, float]:
    """item_id -> [ED, CR, WAC] prompt row -> ``{"<length>_<ED|CR|WAC>": mean}`` in the script's column order
    (metric-major: short_ED, middle_ED, long_ED, short_CR, ...), plus ``<length>_n`` prompt counts."""
    means, counts = {}, {}
    for length in ("short", "middle", "long"):
        sel = [r for i, r in rows.items() if meta.get(i, {}).get("prompt_length") == length]
        if sel:
            means[length] = [sum(r[k] for r in sel) / len(sel) for k in range(3)]
            counts[f"{length}_n"] = len(sel)
    out = {f"{length}_{name}": means[length][k] for k, name in enumerate(("ED", "CR", "WAC"))
           for length in ("short", "middle", "long") if length in means}
    return {**out, **counts}


def by_subject(scores: Mapping[str, float | None], subjects: Mapping[str, str]) -> dict[str, float | None]:
    return {s: _mean([v for i, v in scores.items() if v is not None and subjects.get(i) == s]) for s in SUBJECTS}


def style_types(per_style: Mapping[str, float]) -> dict[str, float | None]:
    out = {}
    for name, styles in STYLE_TYPES.items():
        vals = [per_style.get(s) for s in styles]
        out[name] = None if any(v is None for v in vals) else sum(vals) / len(vals)
    return out


def fine_grained(v: dict[str, Any], d: dict[str, Any], *, missing: str = "nan") -> dict[str, dict[str, float | None]]:
    """All fine-grained tables from `summary.dimension_values` output and the suite data."""
    from lensbench.scorers.oneig import similarity as sim
    from lensbench.scorers.oneig import text as tx

    recs = v["records"]
    meta = d.get("meta", {})

    def scores(dim: str) -> dict[str, float | None]:
        return {r["item_id"]: r[dim].get("score") for r in recs if isinstance(r.get(dim), dict)}

    out: dict[str, dict[str, float | None]] = {}
    if d["lang"] == "en":
        out["alignment"] = by_tag(scores("alignment"), meta, missing=missing)
        # diversity_score.py writes no row for a grid with < 2 kept tiles, so nothing poisons its buckets
        out["diversity"] = by_tag(scores("diversity"), meta, missing="skip")
        out["text"] = text_by_length({k: tx.prompt_row(t) for k, t in v["text_tiles"].items()}, meta)
    reasoning = {r["oneig_id"]: r["reasoning"].get("score") for r in recs if isinstance(r.get("reasoning"), dict)}
    out["reasoning"] = by_subject(reasoning, d.get("subjects", {}))
    per_style = sim.style_table([(r["style"].get("style"), r["style"].get("score")) for r in recs
                                 if isinstance(r.get("style"), dict)])
    out["style"] = style_types(per_style)
    return {k: {c: x for c, x in t.items() if x is not None} for k, t in out.items()}
