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
from typing import Any, ClassVar

from lensbench.errors import UserError
from lensbench.util.sizes import format_size


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
    min_steps: int = 1  # e.g. a scheduler with shift_terminal gives NaN images at 1 step (checked before loading)


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
    #: the size the model was made for, (height, width); None: the default size. With `native_presets`, every
    #: preset size counts as native too (aspect buckets at the native pixel count, e.g. Lens's bucket table)
    native_size: tuple[int, int] | None = None
    native_presets: bool = False
    #: where `defaults` come from when they are not the owners' recommendation (e.g. "pipeline __call__ defaults
    #: read from model_index.json" for `diffusers:<path>` specs); empty for registry entries
    defaults_source: str = ""
    #: the pipeline class's own `__call__` defaults (recorded for `diffusers:<path>` specs)
    call_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: protocol facts recorded with every run (e.g. HunyuanImage-2.1: reprompt / refiner off)
    recorded: Mapping[str, Any] = field(default_factory=dict)

    @property
    def native(self) -> tuple[int, int]:
        """Native (height, width)."""
        return self.native_size or (self.defaults.height, self.defaults.width)

    def is_native(self, height: int, width: int) -> bool:
        return (height, width) == self.native or (self.native_presets and (height, width) in set(self.presets.values()))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["presets"] = {k: [w, h] for k, (h, w) in self.presets.items()}  # W×H, like every size lensbench prints
        d["options"] = dict(self.options)
        d["call_defaults"] = dict(self.call_defaults)
        d["recorded"] = dict(self.recorded)
        h, w = self.native
        d["native_size"] = [w, h]  # W×H, like every size lensbench prints
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

#: call arguments that adapters derive from the core settings (size, steps, guidance, negative prompt, seeds,
#: output), mapped to the flag that sets them. A model option (-M) naming one is refused: it would make an
#: image that its record does not describe.
CORE_ARGUMENTS: Mapping[str, str] = {
    "height": "--height", "width": "--width", "image_size": "--height/--width", "base_resolution": "--resolution",
    "aspect_ratio": "--resolution", "num_inference_steps": "--steps", "diff_infer_steps": "--steps",
    "steps": "--steps", "guidance_scale": "--guidance", "true_cfg_scale": "--guidance",
    "diff_guidance_scale": "--guidance", "guidance": "--guidance", "negative_prompt": "--negative-prompt",
    "negative_prompt_embeds": "--negative-prompt", "generator": "--seed", "seed": "--seed", "latents": "--seed",
    "prompt": "--suite", "prompt_embeds": "--suite", "num_images_per_prompt": "--images-per-prompt",
    "output_type": "(set by lensbench)", "return_dict": "(set by lensbench)", "stream": "(set by lensbench)",
    "callback_on_step_end": "(set by lensbench)", "callback_on_step_end_tensor_inputs": "(set by lensbench)",
}


class Generator(ABC):
    """A loaded text-to-image model behind one interface."""

    #: model options (-M KEY=VALUE) this adapter understands besides the keys of `ModelSpec.options`; any
    #: other key is refused before loading, unless passed through explicitly as ``-M pass.KEY=VALUE`` (recorded,
    #: sent as a call argument through `GenerationRequest.extra`)
    known_options: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def option_names(cls, spec: ModelSpec) -> list[str]:
        """Every -M key this adapter accepts for `spec` (sorted)."""
        return sorted(cls.known_options | set(spec.options))

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
        return {"model": self.spec.name, "weights_identity": self.weights_identity()}

    def spec_facts(self) -> dict[str, Any]:
        """What the spec says about where its settings come from, for `info()`: `defaults_source`,
        `pipeline_call_defaults` (diffusers:<path> specs) and `recorded` protocol facts, when present."""
        s = self.spec
        return {**({"defaults_source": s.defaults_source} if s.defaults_source else {}),
                **({"pipeline_call_defaults": dict(s.call_defaults)} if s.call_defaults else {}),
                **({"recorded": dict(s.recorded)} if s.recorded else {})}

    def weights_identity(self) -> dict[str, Any] | None:
        """Which weights exactly (manifest `model.weights_identity`): the resolved Hub commit or a local content
        fingerprint (lensbench.generators.weights). Cheap; never loads or downloads anything."""
        from lensbench.generators.weights import weights_identity

        return weights_identity(self.spec, self.load_options.model_path, self.load_options.revision)

    def pipeline(self) -> Any | None:
        """The loaded pipeline object (diffusers-style: `encode_prompt`, `vae.decode`, `transformer`/`unet`), for
        the speed suite's stage instrumentation and `--compile`; None when the adapter has none."""
        return None

    def call_kwargs(self, requests: Sequence[GenerationRequest]) -> dict[str, Any]:
        """The keyword arguments `generate(requests)` passes to `pipeline()` (fresh CPU generators each time),
        so a bare `pipeline()(**call_kwargs(requests))` is the same call (speed's harness-overhead check)."""
        raise NotImplementedError(f"{type(self).__name__} has no single pipeline call")

    def refined_prompts(self) -> list[str] | None:
        """The prompts the model itself rewrote and encoded in the last `generate` call (one per request; e.g.
        Lens with enable_reasoner=true), or None when the model did not rewrite them."""
        return None

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
            f"{format_size(height, width)} (WxH) is not a valid size for {spec.name}: {'; '.join(problems)}; nearest "
            f"valid size: {format_size(h, w)} (pass --height {h} --width {w}, or --size {format_size(h, w)})"
        )
