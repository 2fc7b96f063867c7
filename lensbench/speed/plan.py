"""Which configurations a speed run measures: sizes (explicit or a preset) × steps × batch sizes.

Sizes are written WIDTHxHEIGHT on the command line and in tables (``1376x768`` is landscape), and aspect
ratios W:H (``16:9`` is landscape), as in the Lens bucket table; internally (height, width) like everywhere
in lensbench. Presets, all snapped to the model's constraints (`ModelSpec.constraints`):

- ``megapixel-ladder``: square sizes of area 0.25, 0.5, 1, 1.5 and 2 × ref² px, ref = 1024 (1024² is the
  "1 MP" of image-generation papers; the ``megapixels`` column is exact, h·w/10⁶). A model that cannot reach
  2 × 1024² (the tiny CPU builds) uses its own default side as ref instead; ``base_side`` overrides.
- ``aspect-sweep``: W:H = 1:2, 9:16, 2:3, 3:4, 1:1, 4:3, 3:2, 16:9, 2:1 at area ref².
- ``buckets``: the model's own presets / aspect-ratio buckets (`ModelSpec.presets`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lensbench.errors import UserError
from lensbench.generators.base import ModelSpec, check_resolution, nearest_valid
from lensbench.util.sizes import format_size, is_size, parse_size

PRESETS = ("megapixel-ladder", "aspect-sweep", "buckets")
LADDER_AREAS = (0.25, 0.5, 1.0, 1.5, 2.0)  # × ref² pixels
ASPECT_SWEEP = ("1:2", "9:16", "2:3", "3:4", "1:1", "4:3", "3:2", "16:9", "2:1")  # W:H
REF_SIDE = 1024


@dataclass(frozen=True)
class SpeedPoint:
    """One configuration to measure."""

    height: int
    width: int
    steps: int
    batch_size: int
    label: str = ""  # where the size came from, e.g. "megapixel-ladder 0.5×1024²" or "requested 1000x1000"

    @property
    def megapixels(self) -> float:
        return self.height * self.width / 1e6

    @property
    def size(self) -> str:
        return format_size(self.height, self.width)


def is_valid(spec: ModelSpec, height: int, width: int) -> bool:
    try:
        check_resolution(spec, height, width)
    except UserError:
        return False
    return True


def snap_valid(spec: ModelSpec, height: float, width: float) -> tuple[int, int]:
    """The valid (height, width) nearest to the requested area and aspect ratio (both clamped to the model's
    limits). Starts from `nearest_valid` and searches neighbouring multiples when rounding broke a limit."""
    c = spec.constraints
    h0, w0 = nearest_valid(spec, max(1, round(height)), max(1, round(width)))
    if is_valid(spec, h0, w0):
        return h0, w0
    aspect = min(max(width / height, c.min_aspect), c.max_aspect)
    area = min(max(height * width, c.min_side**2), c.max_pixels)
    best: tuple[float, int, int] | None = None
    m = c.multiple
    for dh in range(-6, 7):
        for dw in range(-6, 7):
            h, w = h0 + dh * m, w0 + dw * m
            if h <= 0 or w <= 0 or not is_valid(spec, h, w):
                continue
            cost = abs(math.log((w / h) / aspect)) + abs(math.log(h * w / area))
            if best is None or cost < best[0]:
                best = (cost, h, w)
    if best is None:
        raise UserError(f"no valid size for {spec.name} near {format_size(round(height), round(width))}; "
                        "pass --resolutions explicitly")
    return best[1], best[2]


def reference_side(spec: ModelSpec, base_side: int | None = None) -> int:
    """The side whose square is 1× in the presets (see module docstring)."""
    if base_side is not None:
        if base_side < 1:
            raise UserError(f"--base-side must be a positive number of pixels, got {base_side}")
        return base_side
    if spec.constraints.max_pixels >= max(LADDER_AREAS) * REF_SIDE**2:
        return REF_SIDE
    return round(math.sqrt(spec.defaults.height * spec.defaults.width))


def parse_aspect(text: str) -> float:
    """'16:9' -> 16/9 (W:H)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", text)
    if not m or float(m[2]) == 0 or float(m[1]) == 0:
        raise UserError(f"aspect ratio {text!r} must look like W:H, e.g. 16:9")
    return float(m[1]) / float(m[2])


def preset_sizes(spec: ModelSpec, preset: str, base_side: int | None = None) -> list[tuple[int, int, str]]:
    """(height, width, label) of a preset for this model, snapped to its constraints, duplicates dropped."""
    ref = reference_side(spec, base_side)
    out: list[tuple[int, int, str]] = []
    if preset == "megapixel-ladder":
        for a in LADDER_AREAS:
            side = ref * math.sqrt(a)
            h, w = snap_valid(spec, side, side)
            out.append((h, w, f"megapixel-ladder {a:g}×{ref}²"))
    elif preset == "aspect-sweep":
        for ar in ASPECT_SWEEP:
            r = parse_aspect(ar)
            h = ref / math.sqrt(r)
            h2, w2 = snap_valid(spec, h, h * r)
            out.append((h2, w2, f"aspect-sweep {ar} at {ref}²"))
    elif preset == "buckets":
        if not spec.presets:
            raise UserError(f"{spec.name} has no resolution buckets/presets; use --preset megapixel-ladder, "
                            "--preset aspect-sweep or --resolutions WxH,...")
        for name, (h, w) in spec.presets.items():
            out.append((h, w, f"bucket {name}"))
    else:
        raise UserError(f"unknown --preset {preset!r}; use one of: {', '.join(PRESETS)}")
    return _dedupe(out)


def _dedupe(sizes: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    seen: set[tuple[int, int]] = set()
    out = []
    for h, w, label in sizes:
        if (h, w) not in seen:
            seen.add((h, w))
            out.append((h, w, label))
    return out


def explicit_sizes(spec: ModelSpec, tokens: Sequence[str], snap: bool = False) -> list[tuple[int, int, str]]:
    """Sizes from 'WxH' tokens or names of the model's presets. An invalid size is an error that names the
    nearest valid size, or (snap=True) is replaced by it."""
    out = []
    for tok in tokens:
        tok = tok.strip()
        if not tok:
            continue
        if tok in spec.presets:
            h, w = spec.presets[tok]
            out.append((h, w, f"bucket {tok}"))
            continue
        if tok == "native":  # the model's declared native size
            h, w = spec.native
            out.append((h, w, "native"))
            continue
        if not is_size(tok):
            names = ", ".join(spec.presets) or "none"
            raise UserError(f"resolution {tok!r} must be WIDTHxHEIGHT (e.g. 1024x1024) or a preset of {spec.name} ({names})")
        h, w = parse_size(tok, "resolution")
        if is_valid(spec, h, w):
            out.append((h, w, "requested"))
            continue
        h2, w2 = snap_valid(spec, h, w)
        if not snap:
            why = "invalid size"
            try:
                check_resolution(spec, h, w)
            except UserError as exc:
                why = str(exc).split(": ", 1)[-1].split("; nearest valid size")[0]
            near = format_size(h2, w2)
            raise UserError(f"{format_size(h, w)} (WxH) is not a valid size for {spec.name} ({why}); nearest valid "
                            f"size: {near}; pass --resolutions {near}, or add --snap to use the nearest valid sizes")
        out.append((h2, w2, f"requested {format_size(h, w)}, snapped"))
    if not out:
        raise UserError("--resolutions is empty; pass e.g. --resolutions 1024x1024,1440x1440")
    return _dedupe(out)


def parse_int_list(text: str | Sequence[int] | None, flag: str) -> list[int] | None:
    """'4,20' -> [4, 20]; each at least 1."""
    if text is None:
        return None
    items = [t for t in text.split(",")] if isinstance(text, str) else list(text)
    out = []
    for t in items:
        try:
            v = int(str(t).strip())
        except ValueError:
            raise UserError(f"{flag} takes comma-separated whole numbers, got {text!r}") from None
        if v < 1:
            raise UserError(f"{flag} values must be at least 1, got {v}")
        out.append(v)
    if not out:
        raise UserError(f"{flag} is empty")
    return list(dict.fromkeys(out))


def build_points(sizes: Sequence[tuple[int, int, str]], steps: Sequence[int], batch_sizes: Sequence[int]) -> list[SpeedPoint]:
    """size × steps × batch, batch sizes ascending within each (size, steps) so an OOM can skip larger ones."""
    return [SpeedPoint(h, w, s, b, label) for h, w, label in sizes for s in steps for b in sorted(batch_sizes)]
