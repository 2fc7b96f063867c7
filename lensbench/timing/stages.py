"""Stage split of one generation call: prompt rewrite, text encoding, each denoising step, VAE decode, other.

`StageTracker.install(pipe)` wraps methods *on the loaded pipeline instance* (never on its class, and nothing in
the adapters changes); `uninstall()` restores them. Each wrapper records an entry and an exit mark on the
call's `Timeline`. Denoising steps are marked by the step callback that every adapter passes on as diffusers'
`callback_on_step_end`. What is wrapped, where present (`STAGE_HOOKS`):

- ``encode_prompt`` (text encoding): every diffusers pipeline lensbench loads (StableDiffusion, Z-Image,
  Qwen-Image, FLUX, SD3) and LensPipeline (lens/pipeline.py of github.com/microsoft/Lens, as read from a public
  copy: ``__call__`` calls ``self.encode_prompt`` once for positives and negatives);
- ``refine_prompt`` (prompt rewrite): LensPipeline's reasoner shim, called before encoding (identity when the
  reasoner is off, so it measures ~0 then);
- ``vae.decode`` (VAE decode): diffusers' AutoencoderKL* and LensPipeline (its ``_decode`` calls
  ``self.vae.decode``).

Nested calls of the same stage count once (only the outermost). Definitions, per call:

- ``denoise_s`` runs from the end of the last rewrite/encode before the first step (the call's start when
  nothing was encoded) to the end of the last step; so it includes latent preparation and scheduler set-up;
- ``steps_s[i]`` is the time from the previous step's end (step 0: the denoise start) to step i's end, so the
  steps sum to ``denoise_s`` exactly;
- ``other_s`` is the rest of the call (input checks, latent unpacking, image post-processing, PIL conversion).
A stage that cannot be observed for a generator (e.g. no ``encode_prompt``; HunyuanImage-3.0 takes no step
callback) is None and counts towards ``other_s``.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lensbench.timing.clock import Clock, Timeline

#: (attribute path on the pipeline, stage) pairs that the tracker wraps when present
STAGE_HOOKS: tuple[tuple[str, str], ...] = (
    ("encode_prompt", "text_encode"),
    ("refine_prompt", "rewrite"),
    ("vae.decode", "vae_decode"),
)
STAGES = ("rewrite", "text_encode", "denoise", "vae_decode", "other")
_CALL_START, _CALL_END, _STEP = "call>", "call<", "step"


@dataclass(frozen=True)
class StageTimes:
    """Seconds spent per stage in one call. None = not observable for this generator."""

    total_s: float
    rewrite_s: float | None = None
    text_encode_s: float | None = None
    denoise_s: float | None = None
    vae_decode_s: float | None = None
    other_s: float = 0.0
    steps_s: tuple[float, ...] = ()

    @property
    def step_mean_s(self) -> float | None:
        return math.fsum(self.steps_s) / len(self.steps_s) if self.steps_s else None

    def to_dict(self) -> dict[str, Any]:
        return {"total_s": self.total_s, "rewrite_s": self.rewrite_s, "text_encode_s": self.text_encode_s,
                "denoise_s": self.denoise_s, "step_mean_s": self.step_mean_s, "vae_decode_s": self.vae_decode_s,
                "other_s": self.other_s, "steps_s": list(self.steps_s)}


def split_stages(marks: Sequence[tuple[str, float]], observed: set[str]) -> StageTimes:
    """StageTimes from a resolved timeline (pure). `observed`: the stages that were instrumented (a stage that
    was instrumented but not entered in this call is 0.0, one that was not instrumented is None)."""
    start = next((t for label, t in marks if label == _CALL_START), marks[0][1] if marks else 0.0)
    end = next((t for label, t in reversed(marks) if label == _CALL_END), marks[-1][1] if marks else 0.0)
    spans: dict[str, list[tuple[float, float]]] = {}
    open_at: dict[str, float] = {}
    steps: list[float] = []
    for label, t in marks:
        if label == _STEP:
            steps.append(t)
        elif label.endswith(">") and label != _CALL_START:
            open_at[label[:-1]] = t
        elif label.endswith("<") and label != _CALL_END and label[:-1] in open_at:
            stage = label[:-1]
            spans.setdefault(stage, []).append((open_at.pop(stage), t))

    def total_of(stage: str) -> float | None:
        if stage not in spans:
            return 0.0 if stage in observed else None
        return math.fsum(b - a for a, b in spans[stage])

    steps_s: tuple[float, ...] = ()
    denoise = None
    if steps:
        before = [b for stage in ("rewrite", "text_encode") for a, b in spans.get(stage, []) if b <= steps[0]]
        d0 = max(before, default=start)
        edges = [d0, *steps]
        steps_s = tuple(edges[i + 1] - edges[i] for i in range(len(steps)))
        denoise = steps[-1] - d0
    elif "denoise" in observed:
        denoise = 0.0
    total = end - start
    parts = {"rewrite": total_of("rewrite"), "text_encode": total_of("text_encode"), "denoise": denoise,
             "vae_decode": total_of("vae_decode")}
    other = total - math.fsum(v for v in parts.values() if v is not None)
    return StageTimes(total_s=total, rewrite_s=parts["rewrite"], text_encode_s=parts["text_encode"],
                      denoise_s=denoise, vae_decode_s=parts["vae_decode"], other_s=other, steps_s=steps_s)


def mean_stages(samples: Sequence[StageTimes]) -> dict[str, float | None]:
    """Per-stage means over calls (None where any call could not observe the stage)."""
    out: dict[str, float | None] = {}
    for key in ("rewrite_s", "text_encode_s", "denoise_s", "step_mean_s", "vae_decode_s", "other_s"):
        vals = [getattr(s, key) for s in samples]
        out[key] = math.fsum(vals) / len(vals) if vals and all(v is not None for v in vals) else None
    return out


def _resolve_owner(root: Any, path: str) -> tuple[Any, str] | None:
    *parents, attr = path.split(".")
    owner = root
    for p in parents:
        owner = getattr(owner, p, None)
        if owner is None:
            return None
    return (owner, attr) if callable(getattr(owner, attr, None)) else None


class StageTracker:
    """Collects the marks of one call at a time. Use `begin()` / `end()` around each call (or `call()`)."""

    def __init__(self, clock: Clock, hooks: Sequence[tuple[str, str]] = STAGE_HOOKS):
        self.clock = clock
        self.hooks = tuple(hooks)
        self.observed: set[str] = set()
        self.installed: list[str] = []
        self._restore: list[tuple[Any, str, bool, Any]] = []
        self._timeline: Timeline | None = None
        self._depth: dict[str, int] = {}

    # -- instrumentation -------------------------------------------------------------------------
    def install(self, pipe: Any) -> list[str]:
        """Wrap the hooks present on `pipe` (an instance); returns the wrapped attribute paths."""
        if pipe is None:
            return []
        for path, stage in self.hooks:
            found = _resolve_owner(pipe, path)
            if found is None:
                continue
            owner, attr = found
            had_own = attr in vars(owner)
            own_value = vars(owner).get(attr)
            original = getattr(owner, attr)
            object.__setattr__(owner, attr, self._wrap(original, stage))
            self._restore.append((owner, attr, had_own, own_value))
            self.installed.append(path)
            self.observed.add(stage)
        return list(self.installed)

    def uninstall(self) -> None:
        for owner, attr, had_own, own_value in reversed(self._restore):
            if had_own:
                object.__setattr__(owner, attr, own_value)
            else:
                with contextlib.suppress(AttributeError):
                    object.__delattr__(owner, attr)
        self._restore.clear()
        self.installed.clear()

    def _wrap(self, original: Any, stage: str):
        tracker = self

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            with tracker.stage(stage):
                return original(*args, **kwargs)

        wrapper.__lensbench_stage__ = stage  # type: ignore[attr-defined]
        return wrapper

    # -- marks -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def stage(self, stage: str) -> Iterator[None]:
        """Time a block as `stage` (outermost entry only; a no-op outside begin()/end())."""
        tl = self._timeline
        depth = self._depth.get(stage, 0)
        if tl is not None and depth == 0:
            tl.mark(stage + ">")
        self._depth[stage] = depth + 1
        try:
            yield
        finally:
            self._depth[stage] -= 1
            if tl is not None and self._depth[stage] == 0 and self._timeline is tl:
                tl.mark(stage + "<")

    def step_callback(self, step: int, timestep: Any = None) -> None:
        """Pass as the adapters' `step_callback`: marks the end of each denoising step."""
        if self._timeline is not None:
            self._timeline.mark(_STEP)
            self.observed.add("denoise")

    def begin(self) -> None:
        self.clock.sync()  # queued work from before the call is not ours
        self._depth.clear()
        self._timeline = Timeline(self.clock)
        self._timeline.mark(_CALL_START)

    def end(self) -> StageTimes:
        tl = self._timeline
        if tl is None:
            raise RuntimeError("StageTracker.end() without begin()")
        tl.mark(_CALL_END)
        self._timeline = None
        return split_stages(tl.resolve(), self.observed)

    def abort(self) -> None:
        """Drop the marks of a call that failed."""
        self._timeline = None
        self._depth.clear()
