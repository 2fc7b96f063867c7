"""Generator interface and the model spec that every registry entry is.

A `ModelSpec` is pure data (no torch import), so `lensbench models` is instant. Its `adapter` names the
`Generator` subclass lazily (``"module:Class"``); adding a model is one `ModelSpec` in
`lensbench.generators.catalog` plus, when no existing adapter fits, one adapter file.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lensbench.errors import UserError


@dataclass(frozen=True)
class Defaults:
    """Recommended settings from the model owners (see shared reference models.md)."""

    steps: int
    guidance: float
    #: how `guidance` reaches the pipeline: "cfg" (guidance_scale), "true_cfg" (true_cfg_scale + negative
    #: prompt), "distilled" (guidance embedding, one forward per step), "none" (guidance must stay 0/1)
    guidance_kind: str = "cfg"
    negative_prompt: str | None = None
    height: int = 1024
    width: int = 1024
    dtype: str = "bfloat16"


@dataclass(frozen=True)
class Constraints:
    multiple: int = 16  # height and width must be divisible by this
    min_side: int = 256
    max_pixels: int = 2048 * 2048
    min_aspect: float = 0.25  # width / height
    max_aspect: float = 4.0


@dataclass(frozen=True)
class Requirements:
    min_diffusers: str | None = None
    min_transformers: str | None = None
    packages: tuple[str, ...] = ()  # import names that must be importable (e.g. "lens")
    install_hint: str = ""
    trust_remote_code: bool = False
    gpu_memory_gb: float | None = None
    min_gpus: int = 1


@dataclass(frozen=True)
class ModelSpec:
    name: str
    repo_id: str | None  # Hugging Face repo id (None: built locally, see `local_builder`)
    adapter: str  # "module:GeneratorClass"
    defaults: Defaults
    pipeline_class: str | None = None  # e.g. "ZImagePipeline" for the diffusers adapter
    constraints: Constraints = field(default_factory=Constraints)
    requires: Requirements = field(default_factory=Requirements)
    #: named sizes: aspect-ratio buckets or presets, name -> (height, width)
    presets: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    params_b: float | None = None  # parameters in billions (generator only, as published)
    licence: str = "unknown"
    family: str = ""
    #: "module:function" that builds the weights locally (tiny models); returns nothing, takes a directory
    local_builder: str | None = None
    #: adapter-specific default options (e.g. Lens base_resolution / aspect_ratio; Hunyuan bot_task)
    options: Mapping[str, Any] = field(default_factory=dict)
    mirrors: tuple[str, ...] = ()
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["presets"] = {k: list(v) for k, v in self.presets.items()}
        d["options"] = dict(self.options)
        return d


@dataclass(frozen=True)
class GenerationRequest:
    """One image to make. Batches passed to `Generator.generate` share size, steps, guidance and negative."""

    prompt: str
    seed: int
    height: int
    width: int
    steps: int
    guidance: float
    negative_prompt: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def batch_signature(self) -> tuple:
        return (self.height, self.width, self.steps, self.guidance, self.negative_prompt, tuple(sorted(self.extra.items())))


@dataclass
class LoadOptions:
    """How to load a model (does not change the images, except dtype)."""

    model_path: str | None = None  # local dir or mirror repo id, overrides spec.repo_id
    device: str = "cpu"
    dtype: str | None = None  # None: the spec's default (float32 on CPU)
    offload: str = "none"  # none | model | sequential
    trust_remote_code: bool = False
    revision: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # adapter-specific (e.g. lens dequantize)


#: called after each denoising step with (step_index, timestep); used by the speed suite for stage timing
StepCallback = Callable[[int, Any], None]


class Generator(ABC):
    """A loaded text-to-image model behind one interface."""

    def __init__(self, spec: ModelSpec, load: LoadOptions):
        self.spec = spec
        self.load_options = load

    @abstractmethod
    def load(self) -> None: ...

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest], step_callback: StepCallback | None = None) -> list:
        """Return one PIL image per request, in order. Noise comes from per-image CPU generators seeded
        with `request.seed`, so one seed gives the same starting noise on any hardware."""

    def info(self) -> dict[str, Any]:
        """Provenance: resolved weights location, revision, dtype, device, library versions."""
        return {"model": self.spec.name}

    def unload(self) -> None:
        """Free memory."""

    def validate(self, requests: Sequence[GenerationRequest]) -> None:
        for r in requests:
            check_resolution(self.spec, r.height, r.width)


def nearest_valid(spec: ModelSpec, height: int, width: int) -> tuple[int, int]:
    """Nearest (height, width) that satisfies the spec's constraints, keeping the aspect ratio."""
    c = spec.constraints
    aspect = min(max(width / max(height, 1), c.min_aspect), c.max_aspect)
    pixels = min(max(height * width, c.min_side * c.min_side), c.max_pixels)
    h = (pixels / aspect) ** 0.5
    w = h * aspect
    m = c.multiple

    def snap(v: float) -> int:  # nearest multiple, halves rounded up
        return max(c.min_side + (-c.min_side) % m, math.floor(v / m + 0.5) * m)

    h2, w2 = snap(h), snap(w)
    while h2 * w2 > c.max_pixels:
        if h2 >= w2:
            h2 -= m
        else:
            w2 -= m
    return h2, w2


def check_resolution(spec: ModelSpec, height: int, width: int) -> None:
    """Raise a UserError naming the broken constraint and the nearest valid size."""
    c = spec.constraints
    problems = []
    if height % c.multiple or width % c.multiple:
        problems.append(f"height and width must be multiples of {c.multiple}")
    if min(height, width) < c.min_side:
        problems.append(f"each side must be at least {c.min_side}")
    if height * width > c.max_pixels:
        problems.append(f"at most {c.max_pixels / 1e6:.2f} MP")
    aspect = width / height if height else float("inf")
    if not (c.min_aspect - 1e-9 <= aspect <= c.max_aspect + 1e-9):
        problems.append(f"aspect ratio (width/height) must lie in [{c.min_aspect:g}, {c.max_aspect:g}]")
    if problems:
        h, w = nearest_valid(spec, height, width)
        raise UserError(
            f"{height}x{width} is not a valid size for {spec.name}: {'; '.join(problems)}; nearest valid size: {h}x{w} "
            f"(pass --height {h} --width {w})"
        )
