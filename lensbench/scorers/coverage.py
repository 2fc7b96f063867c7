"""The ``coverage`` block of a results JSON: what the aggregated records cover and whether the run followed the
official protocol (keys in lensbench.store.results.COVERAGE_KEYS; reports render it).

- ``partial``: fewer prompts scored than the suite holds, or categories (tags) missing.
- ``official_protocol``: False for any deviation: the scorer's own (`Scorer.protocol()`: non-official detector,
  judge or OCR, changed decision constants...), a non-official metadata file, a prompt translation, a rewriter,
  fewer images per prompt than the protocol's, an off-native size. Every reason is listed in
  ``off_protocol_reasons``; a run with no manifest (images from another tool) cannot say how it was generated,
  which is a reason too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any


def _rewriter_label(generation: Mapping[str, Any] | None) -> str:
    if not generation:
        return "unknown"
    rw = generation.get("rewriter")
    if isinstance(rw, Mapping):
        name = str(rw.get("name") or "none")
        model = rw.get("model")
        return f"{name}:{model}" if model and name != "none" else name
    return str(rw) if rw else "none"


def _language(suite: Any, items: Sequence[Any]) -> str:
    lang = (getattr(suite, "options", None) or {}).get("language")
    if lang:
        return str(lang)
    found = sorted({str(it.metadata.get("language")) for it in items if it.metadata.get("language")})
    return "+".join(found) if found else "en"


def build_coverage(scorer: Any, suite: Any, units: Sequence[Any], scored_keys: set[str],
                   manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """Coverage of the records with keys `scored_keys` among the scorer's `units` of `suite`."""
    all_items = suite.items()
    scored_units = [u for u in units if u.key in scored_keys]
    scored_items = {u.item.id: u.item for u in scored_units}
    total = len(all_items)
    cats_total = sorted({str(it.category) for it in all_items if it.category is not None})
    cats_present = sorted({str(it.category) for it in scored_items.values() if it.category is not None})
    generation = (manifest or {}).get("generation") or None
    per_item = Counter(u.item.id for u in scored_units)
    ipp = (generation or {}).get("images_per_prompt") or (max(per_item.values()) if per_item else 0)
    protocol = scorer.protocol()
    reasons = list(protocol.deviations)
    desc = suite.describe()
    if desc.get("official_metadata") is False:
        reasons.append(f"prompt file is not the official {suite.name} metadata (sha256 differs)")
    if desc.get("translation"):
        reasons.append(f"prompts translated to {_language(suite, all_items)} by lensbench (not an official set)")
    if manifest is None:
        reasons.append("images made by another tool (no lensbench manifest): generation settings unknown")
    rewriter = _rewriter_label(generation)
    if rewriter not in ("none", "unknown"):
        reasons.append(f"prompts rewritten by {rewriter}")
    default_ipp = getattr(suite, "default_images_per_prompt", None)
    if generation and default_ipp and int(ipp or 0) < int(default_ipp):
        reasons.append(f"{ipp} image(s) per prompt instead of the protocol's {default_ipp}")
    model = (manifest or {}).get("model") or {}
    if model.get("off_native"):
        reasons.append(f"off-native size for {model.get('name')}")
    partial = len(scored_items) < total or set(cats_present) != set(cats_total)
    cov = {
        "prompts_scored": len(scored_items),
        "prompts_total": total,
        "fraction": len(scored_items) / total if total else None,
        "categories_present": cats_present,
        "categories_total": cats_total,
        "images_per_prompt": int(ipp or 0),
        "language": _language(suite, list(scored_items.values()) or all_items),
        "rewriter": rewriter,
        "scorer_backend": protocol.backend,
        "judge": protocol.judge,
        "official_protocol": not reasons,
        "partial": partial,
        "off_protocol_reasons": reasons,
    }
    extra = getattr(scorer, "coverage_extra", None)  # scorer-specific keys (e.g. OneIG's dimensions)
    if callable(extra):
        cov.update(extra(suite, scored_units, cov))
    return cov
