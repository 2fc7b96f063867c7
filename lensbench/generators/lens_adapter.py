"""Adapter for Microsoft Lens, Lens-Turbo and Lens-Base (models.md §1).

Classes come from the `lens` package of github.com/microsoft/Lens (importing it registers LensGptOssEncoder
and LensPipeline with transformers/diffusers), or from diffusers once a release ships LensPipeline. Loading
follows upstream inference.py: the GPT-OSS text encoder in MXFP4 (dequantized on pre-Hopper GPUs), then the
pipeline with that encoder. Sizes that are exactly a bucket of the upstream table are passed as
(base_resolution, aspect_ratio) like inference.py does; any other size as explicit height/width.
The reasoner (prompt rewriting) is off unless `enable_reasoner` is set, and always recorded.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from lensbench.errors import UserError
from lensbench.generators import loading
from lensbench.generators.base import GenerationRequest, Generator, StepCallback
from lensbench.generators.catalog import LENS_BUCKETS


def bucket_for(height: int, width: int) -> tuple[int, str] | None:
    """(base_resolution, aspect_ratio) whose bucket is exactly (height, width), else None."""
    for base, table in LENS_BUCKETS.items():
        for ar, hw in table.items():
            if hw == (height, width):
                return base, ar
    return None


def import_lens_classes() -> tuple[Any, Any, str]:
    """(LensPipeline, LensGptOssEncoder or None, source). Prefers the official `lens` package."""
    try:
        lens = importlib.import_module("lens")
    except ImportError:
        lens = None
    if lens is not None and hasattr(lens, "LensPipeline"):
        return lens.LensPipeline, getattr(lens, "LensGptOssEncoder", None), "lens"
    import diffusers

    if hasattr(diffusers, "LensPipeline"):
        return diffusers.LensPipeline, None, "diffusers"
    raise UserError(
        "Lens needs the `lens` package from github.com/microsoft/Lens (diffusers "
        f"{diffusers.__version__} has no LensPipeline): git clone it and add the clone to PYTHONPATH "
        "(or pip install it from the clone), then re-run"
    )


class LensGenerator(Generator):
    pipe: Any = None

    def _dequantize(self, device: str) -> bool:
        value = self.load_options.options.get("dequantize", self.spec.options.get("dequantize", "auto"))
        if value != "auto":
            return bool(value) and str(value).lower() not in ("0", "false", "no")
        if not device.startswith("cuda"):
            return True
        import torch

        major, _ = torch.cuda.get_device_capability(device)
        return major < 9  # MXFP4 kernels need Hopper (sm90) or newer

    def load(self) -> None:
        if self.pipe is not None:  # already loaded (e.g. one generator shared by several runs)
            return
        opts = self.load_options
        pipeline_cls, encoder_cls, self.source = import_lens_classes()
        self.device = loading.resolve_device(opts.device)
        self.dtype_name = loading.resolve_dtype_name(self.spec, opts.dtype, self.device)
        dtype = loading.torch_dtype(self.dtype_name)
        self.where = loading.weights_location(self.spec, opts)
        self.dequantize = self._dequantize(self.device)
        try:
            kwargs: dict[str, Any] = {**loading.dtype_kwargs(dtype), "revision": opts.revision}
            if encoder_cls is not None:
                import transformers

                quant = transformers.Mxfp4Config(dequantize=self.dequantize)
                kwargs["text_encoder"] = encoder_cls.from_pretrained(
                    self.where, subfolder="text_encoder", dtype=dtype, quantization_config=quant, revision=opts.revision
                )
            pipe = pipeline_cls.from_pretrained(self.where, **kwargs)
        except (OSError, ValueError) as exc:
            raise loading.missing_weights_error(self.spec, self.where, exc) from exc
        loading.place(pipe, self.device, opts.offload)
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe

    def enable_reasoner(self) -> bool:
        return bool(self.load_options.options.get("enable_reasoner", self.spec.options.get("enable_reasoner", False)))

    def call_kwargs(self, requests: Sequence[GenerationRequest]) -> dict[str, Any]:
        r0 = requests[0]
        kw: dict[str, Any] = {
            "prompt": [r.prompt for r in requests],
            "negative_prompt": r0.negative_prompt if r0.negative_prompt is not None else "",
            "num_inference_steps": r0.steps,
            "guidance_scale": r0.guidance,
            "num_images_per_prompt": 1,
            "generator": loading.cpu_generators([r.seed for r in requests]),
            "output_type": "pil",
        }
        bucket = bucket_for(r0.height, r0.width)
        if bucket is not None:
            kw["base_resolution"], kw["aspect_ratio"] = bucket
        else:
            kw["height"], kw["width"] = r0.height, r0.width
        if getattr(self, "source", "lens") == "lens":
            kw["enable_reasoner"] = self.enable_reasoner()
        elif self.enable_reasoner():
            raise UserError("enable_reasoner needs the `lens` package (diffusers' LensPipeline has no reasoner)")
        kw.update(r0.extra)
        return kw

    def generate(self, requests: Sequence[GenerationRequest], step_callback: StepCallback | None = None) -> list:
        if self.pipe is None:
            self.load()
        images = loading.call_pipeline(self.pipe, self.call_kwargs(requests), step_callback)
        self.last_refined_prompts = list(getattr(self.pipe, "_last_refined_prompts", None) or [])
        return images

    def info(self) -> dict[str, Any]:
        return {
            "model": self.spec.name,
            "adapter": "lens",
            "source": getattr(self, "source", None),
            "weights": getattr(self, "where", None),
            "revision": self.load_options.revision,
            "device": getattr(self, "device", None),
            "dtype": getattr(self, "dtype_name", None),
            "text_encoder_mxfp4_dequantized": getattr(self, "dequantize", None),
            "enable_reasoner": self.enable_reasoner(),
            "offload": self.load_options.offload,
            "noise_device": "cpu",
            "versions": loading.library_versions(),
        }
