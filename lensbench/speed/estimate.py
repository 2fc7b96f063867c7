"""How long a planned generation will take, for ``generate --dry-run`` and ``ablate --dry-run``.

Basis, in order of preference:
1. a speed run you made (``--speed-run DIR``: its ``speed/measurements.csv``): the row of the same model, size
   and steps (the largest batch size not above the planned one) gives seconds per image = p50 / batch size;
2. a published latency shipped with lensbench (``lensbench/baselines/data``, batch 1) for the model.
When the steps or the size differ from the basis, the time is scaled linearly in steps and in pixels and the
estimate says so (`scaled`). A speed run that recorded the stage split (``denoise_s``) scales only the denoise
stage with steps (text encoding and VAE decoding run once per call); without it (a published latency) the whole
call scales. Denoising dominates and its cost grows about linearly in both, but attention grows
faster than linearly at large sizes, so a scaled estimate is a rough lower bound. A published basis holds only on
its device (named in the estimate). Without any basis the estimate is None with a note saying what to run.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from lensbench.timing.schema import SPEED_CSV


def _speed_rows(speed_run: str | Path) -> list[dict[str, Any]]:
    from lensbench.errors import UserError

    path = Path(speed_run) / SPEED_CSV
    if not path.is_file():
        raise UserError(f"{path} does not exist; pass --speed-run a directory made by `lensbench speed`")
    with open(path, newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r.get("status") == "ok" and r.get("latency_p50_s")]


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _scale(per_image: float, have: tuple[int, int, int], want: tuple[int, int, int],
           denoise: float | None = None) -> tuple[float, list[str]]:
    """Scale a per-image time from `have` (height, width, steps) to `want`. With `denoise` (the recorded
    per-image denoise stage time) only that stage scales with steps: text encoding, VAE decoding, rewriting and
    the rest are per call, not per step."""
    (hh, hw, hs), (wh, ww, ws) = have, want
    notes = []
    if hs and ws and hs != ws:
        if denoise is not None and 0 <= denoise <= per_image:
            per_image += denoise * (ws / hs - 1)
            notes.append(f"steps {hs} -> {ws} (denoise stage only)")
        else:
            per_image *= ws / hs
            notes.append(f"steps {hs} -> {ws}")
    if hh and hw and (hh, hw) != (wh, ww):
        per_image *= (wh * ww) / (hh * hw)
        notes.append(f"size {hw}x{hh} -> {ww}x{wh}")
    return per_image, notes


def estimate_seconds(model: str, *, height: int, width: int, steps: int, images: int, batch_size: int = 1,
                     speed_run: str | Path | None = None) -> dict[str, Any]:
    """``{"seconds", "per_image_s", "basis", "device", "scaled", "note"}`` for `images` images (seconds None
    when nothing to base it on)."""
    want = (int(height), int(width), int(steps))
    if speed_run is not None:
        rows = [r for r in _speed_rows(speed_run) if r["model"] == model]
        if rows:
            def rank(r):
                same = (int(r["height"]), int(r["width"]), int(r["steps"])) == want
                fits = int(r["batch_size"]) <= batch_size
                return (same, fits, int(r["batch_size"]) if fits else -int(r["batch_size"]))

            r = max(rows, key=rank)
            denoise = _float(r.get("denoise_s"))
            per, scaled = _scale(float(r["latency_p50_s"]) / int(r["batch_size"]),
                                 (int(r["height"]), int(r["width"]), int(r["steps"])), want,
                                 denoise=None if denoise is None else denoise / int(r["batch_size"]))
            return {"seconds": per * images, "per_image_s": per, "device": r["device"], "scaled": scaled,
                    "basis": f"speed run {speed_run}: p50 {float(r['latency_p50_s']):.4g}s per call of batch "
                             f"{r['batch_size']} at {r['width']}x{r['height']}, {r['steps']} steps on {r['device']}",
                    "note": ""}
    try:
        from lensbench.baselines import published_latencies

        published, _ = published_latencies(model)
    except Exception:  # noqa: BLE001 - an unknown model or missing baselines: no published basis
        published = []
    published = [p for p in published if p.get("value")]
    if published:
        def prank(p):
            return ((p["height"], p["width"], p["steps"]) == want, p["steps"] == want[2], not p["uncertain"])

        p = max(published, key=prank)
        per, scaled = _scale(float(p["value"]), (p["height"] or 0, p["width"] or 0, p["steps"] or 0), want)
        if not (p["height"] and p["steps"]):
            scaled.append("published value states no size/steps")
        return {"seconds": per * images, "per_image_s": per, "device": p["device"], "scaled": scaled,
                "basis": f"published {p['text']}s per image on {p['device'] or 'an unstated device'} "
                         f"({p['source']})", "note": "holds on that device only; run `lensbench speed` for yours"}
    return {"seconds": None, "per_image_s": None, "device": None, "scaled": [], "basis": None,
            "note": f"no speed run or published latency for {model}; run `lensbench speed --model {model}` and pass "
                    "--speed-run DIR"}


def format_duration(s: float) -> str:
    return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.1f} min" if s >= 60 else f"{s:.1f} s"


def format_estimate(est: dict[str, Any]) -> str:
    if est.get("seconds") is None:
        return f"estimated GPU time: unknown ({est['note']})"
    when = format_duration(est["seconds"])
    scaled = f"; scaled: {', '.join(est['scaled'])}" if est["scaled"] else ""
    return f"estimated GPU time: {when} ({est['per_image_s']:.3g} s/image; basis: {est['basis']}{scaled})"


__all__ = ["estimate_seconds", "format_estimate", "format_duration"]
