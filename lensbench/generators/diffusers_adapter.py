"""Adapter for pipelines that ship in diffusers: Z-Image, Qwen-Image, FLUX.1/FLUX.2, SD3.5 and the tiny builds.

How guidance reaches the pipeline is data (`ModelSpec.defaults.guidance_kind`), mapped by GUIDANCE_KWARGS;
no model names appear here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lensbench.errors import UserError
from lensbench.generators import loading
from lensbench.generators.base import GenerationRequest, Generator, StepCallback


def _cfg(g: float, negative: str | None, n: int) -> dict[str, Any]:
    kw: dict[str, Any] = {"guidance_scale": g}
    if negative is not None:
        kw["negative_prompt"] = [negative] * n
    return kw


def _true_cfg(g: float, negative: str | None, n: int) -> dict[str, Any]:
    # Qwen-Image runs CFG only with true_cfg_scale > 1 AND a negative prompt; " " is the official default.
    return {"true_cfg_scale": g, "negative_prompt": [negative if negative is not None else " "] * n}


def _distilled(g: float, negative: str | None, n: int) -> dict[str, Any]:
    return {"guidance_scale": g}


def _distilled_scale(g: float, negative: str | None, n: int) -> dict[str, Any]:
    # HunyuanImage-2.1 distilled: a guidance embedding fed `distilled_guidance_scale` (no CFG pass)
    return {"distilled_guidance_scale": g}


def _guider(g: float, negative: str | None, n: int) -> dict[str, Any]:
    # HunyuanImage-2.1 base: the scale lives in the pipeline's `guider` component (set by `apply_guider`)
    kw: dict[str, Any] = {}
    if negative is not None:
        kw["negative_prompt"] = [negative] * n
    return kw


GUIDANCE_KWARGS: dict[str, Callable[[float, str | None, int], dict[str, Any]]] = {
    "cfg": _cfg,
    "true_cfg": _true_cfg,
    "distilled": _distilled,
    "distilled_scale": _distilled_scale,
    "guider": _guider,
}


def apply_guider(pipe: Any, guidance: float, model: str) -> None:
    """Guidance kind "guider": give the pipeline's guider component this guidance_scale (a copy via `new`)."""
    guider = getattr(pipe, "guider", None)
    if guider is None:
        raise UserError(f"{model}: the pipeline has no guider component, so guidance {guidance:g} cannot be applied")
    if guider.config.get("guidance_scale") != guidance:
        pipe.guider = guider.new(guidance_scale=float(guidance))


#: model options consumed at load time; every other model option is passed to the pipeline call
LOAD_OPTIONS = frozenset({"scheduler_shift"})


def apply_scheduler_shift(pipe: Any, shift: float | None, model: str) -> float | None:
    """Rebuild the pipeline's flow-matching scheduler with another static `shift` (an ablation axis)."""
    if shift is None:
        return None
    config = pipe.scheduler.config
    if "shift" not in config:
        raise UserError(f"{model}'s scheduler {type(pipe.scheduler).__name__} has no shift; drop scheduler_shift")
    if config.get("use_dynamic_shifting"):
        raise UserError(f"{model}'s scheduler uses dynamic (resolution-dependent) shifting, so a static "
                        "scheduler_shift would have no effect; drop that option for this model")
    pipe.scheduler = type(pipe.scheduler).from_config(config, shift=float(shift))
    return float(shift)


class DiffusersGenerator(Generator):
    pipe: Any = None
    known_options = LOAD_OPTIONS  # other pipeline arguments: -M pass.KEY=VALUE

    def load(self) -> None:
        if self.pipe is not None:  # already loaded (e.g. one generator shared by several runs)
            return
        spec, opts = self.spec, self.load_options
        loading.check_min_version("diffusers", spec.requires.min_diffusers, spec.name)
        import diffusers

        cls = getattr(diffusers, spec.pipeline_class or "DiffusionPipeline", None)
        if cls is None:
            raise UserError(f"diffusers {diffusers.__version__} has no {spec.pipeline_class}; "
                            + (spec.requires.install_hint or
                               f"pip install -U 'diffusers>={spec.requires.min_diffusers or '0'}'"))
        self.device = loading.resolve_device(opts.device)
        self.dtype_name = loading.resolve_dtype_name(spec, opts.dtype, self.device)
        self.where = loading.weights_location(spec, opts)
        loading.quiet_hub_progress()
        try:
            pipe = cls.from_pretrained(self.where, revision=opts.revision,
                                       **loading.dtype_kwargs(loading.torch_dtype(self.dtype_name)))
        except (OSError, ValueError) as exc:
            raise loading.missing_weights_error(spec, self.where, exc) from exc
        shift = opts.options.get("scheduler_shift", spec.options.get("scheduler_shift"))
        self.scheduler_shift = apply_scheduler_shift(pipe, shift, spec.name)
        self.sample_sigmas = getattr(pipe.config, "sample_sigmas", None)  # QwenImage21: fixes the schedule
        loading.place(pipe, self.device, opts.offload)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe

    def call_kwargs(self, requests: Sequence[GenerationRequest]) -> dict[str, Any]:
        r0 = requests[0]
        n = len(requests)
        kind = self.spec.defaults.guidance_kind
        if kind not in GUIDANCE_KWARGS:
            raise UserError(f"unknown guidance kind {kind!r} for {self.spec.name}")
        kw: dict[str, Any] = {
            "prompt": [r.prompt for r in requests],
            "height": r0.height,
            "width": r0.width,
            "num_inference_steps": r0.steps,
            "generator": loading.cpu_generators([r.seed for r in requests]),
            "output_type": "pil",
            **GUIDANCE_KWARGS[kind](r0.guidance, r0.negative_prompt, n),
        }
        # adapter options that are not load-time settings are pipeline call arguments (e.g. cfg_normalization)
        kw.update({k: v for k, v in self.load_options.options.items() if k not in LOAD_OPTIONS})
        kw.update(r0.extra)
        return kw

    def pipeline(self) -> Any:
        return self.pipe

    def validate(self, requests: Sequence[GenerationRequest]) -> None:
        super().validate(requests)
        fixed = getattr(self, "sample_sigmas", None)
        if fixed and any(r.steps != len(fixed) for r in requests):
            # QwenImage21Pipeline then samples len(sample_sigmas) steps whatever num_inference_steps says
            raise UserError(f"{self.spec.name}: this checkpoint fixes its schedule (sample_sigmas in model_index.json, "
                            f"{len(fixed)} steps), so --steps {requests[0].steps} would not be what runs; pass "
                            f"--steps {len(fixed)}")

    def generate(self, requests: Sequence[GenerationRequest], step_callback: StepCallback | None = None) -> list:
        if self.pipe is None:
            self.load()
        if self.spec.defaults.guidance_kind == "guider":
            apply_guider(self.pipe, requests[0].guidance, self.spec.name)
        return loading.call_pipeline(self.pipe, self.call_kwargs(requests), step_callback)

    def info(self) -> dict[str, Any]:
        return {
            "model": self.spec.name,
            "adapter": "diffusers",
            "pipeline_class": type(self.pipe).__name__ if self.pipe is not None else self.spec.pipeline_class,
            "weights": getattr(self, "where", None),
            "revision": self.load_options.revision,
            "device": getattr(self, "device", None),
            "dtype": getattr(self, "dtype_name", None),
            "offload": self.load_options.offload,
            "scheduler_shift": getattr(self, "scheduler_shift", None),
            "weights_identity": self.weights_identity(),
            **({"sample_sigmas": list(self.sample_sigmas)} if getattr(self, "sample_sigmas", None) else {}),
            **self.spec_facts(),
            "noise_device": "cpu",
            "versions": loading.library_versions(),
        }

    def unload(self) -> None:
        self.pipe = None
        import gc

        gc.collect()
