"""Adapter for Microsoft Lens, Lens-Turbo and Lens-Base (models.md §1) and the tiny-lens build.

Classes come from the `lens` package of github.com/microsoft/Lens (a clone on PYTHONPATH, or pip-installed from
one), or from diffusers once a release ships LensPipeline.

Loading. The published checkpoints' model_index.json names `["transformers", "LensGptOssEncoder"]` and
`["diffusers", "LensTransformer2DModel"]`. `import lens` injects those classes into the `transformers` module
object it imported, but with transformers 5.x diffusers' `importlib.import_module("transformers")` lookup does not
see the injection, so `LensPipeline.from_pretrained(dir)` fails (`transformers has no class LensGptOssEncoder`),
and so does passing `text_encoder=` to it (diffusers checks the passed object against the declared library).
Hence each component named in model_index.json is loaded with its own class's `from_pretrained(subfolder=...)`
(the two Lens classes from the `lens` package, the rest from the declared library) and the pipeline is built
from them: the same objects `from_pretrained` would build, with no monkey-patching of either library.
The GPT-OSS text encoder gets `transformers.Mxfp4Config(dequantize=...)` exactly when its config declares
MXFP4 quantization (the published checkpoints; dequantized below Hopper, as upstream inference.py does); a
non-quantized encoder loads plainly.

The reasoner. Upstream's constructor default `reasoner=True` (build a PromptReasoner over the text encoder)
cannot be registered by the installed diffusers (it is a bool), so the pipeline is built with `reasoner=None`
and the adapter attaches `lens.PromptReasoner(text_encoder, tokenizer, temperature, max_new_tokens)` itself
(upstream defaults 0.7 / 4096; options `reasoner_temperature`, `reasoner_max_new_tokens`). It runs only with
`enable_reasoner=true`; the prompts the pipeline encoded (`_last_refined_prompts`) are returned per image by
`refined_prompts()`.

Sizes that are exactly a bucket of the upstream table are passed as (base_resolution, aspect_ratio) like
inference.py does; any other size as explicit height/width.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import logging
from collections.abc import Sequence
from typing import Any

from lensbench.errors import UserError
from lensbench.generators import loading
from lensbench.generators.base import GenerationRequest, Generator, StepCallback
from lensbench.generators.catalog import LENS_BUCKETS

#: components of a Lens checkpoint that are classes of the `lens` package (whatever library model_index names)
LENS_COMPONENT_CLASSES = ("LensGptOssEncoder", "LensTransformer2DModel")
UPSTREAM_REASONER = {"temperature": 0.7, "max_new_tokens": 4096}  # lens/reasoner.py PromptReasoner defaults
INSTALL_HINT = ("git clone github.com/microsoft/Lens and add the clone to PYTHONPATH (or pip install it from the "
                "clone), pip install 'lensbench[lens]', then re-run")


def bucket_for(height: int, width: int) -> tuple[int, str] | None:
    """(base_resolution, aspect_ratio) whose bucket is exactly (height, width), else None."""
    for base, table in LENS_BUCKETS.items():
        for ar, hw in table.items():
            if hw == (height, width):
                return base, ar
    return None


def import_lens() -> tuple[Any, str]:
    """(module providing LensPipeline, source): the official `lens` package, else diffusers if it ships one."""
    try:
        lens = importlib.import_module("lens")
    except ImportError as exc:
        if getattr(exc, "name", None) not in (None, "lens"):  # lens is there but one of its imports is missing
            raise UserError(f"importing the `lens` package failed: {exc}; {INSTALL_HINT}") from exc
        lens = None
    if lens is not None and hasattr(lens, "LensPipeline"):
        return lens, "lens"
    import diffusers

    if hasattr(diffusers, "LensPipeline"):
        return diffusers, "diffusers"
    raise UserError(f"Lens needs the `lens` package from github.com/microsoft/Lens (diffusers "
                    f"{diffusers.__version__} has no LensPipeline): {INSTALL_HINT}")


def _is_true(value: Any) -> bool:
    return bool(value) and str(value).lower() not in ("0", "false", "no", "off")


@contextlib.contextmanager
def upstream_stdout_to_log(logger: str = "lens.stdout"):
    """Some copies of lens/pipeline.py print debug lines (e.g. 'HERE REFINE' on every call). Keep them off the
    terminal and out of --json stdout: each line goes to the `lens.stdout` logger at INFO (shown with -vv)."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    finally:
        log = logging.getLogger(logger)
        for line in buf.getvalue().splitlines():
            if line.strip():
                log.info(line)


class LensGenerator(Generator):
    pipe: Any = None
    known_options = frozenset({"enable_reasoner", "dequantize", "reasoner_temperature", "reasoner_max_new_tokens"})

    @staticmethod
    def pipeline_class_for(class_name: str) -> Any:
        """The LensPipeline class (for `diffusers:<dir>` specs of Lens checkpoints)."""
        module, _ = import_lens()
        return module.LensPipeline

    def option(self, key: str, default: Any = None) -> Any:
        return self.load_options.options.get(key, self.spec.options.get(key, default))

    def _dequantize(self, device: str) -> bool:
        value = self.option("dequantize", "auto")
        if value != "auto":
            return _is_true(value)
        if not device.startswith("cuda"):
            return True
        import torch

        major, _ = torch.cuda.get_device_capability(device)
        return major < 9  # MXFP4 kernels need Hopper (sm90) or newer

    def _encoder_kwargs(self) -> dict[str, Any]:
        """`quantization_config=Mxfp4Config(dequantize=...)` when the text encoder's config declares MXFP4."""
        config = loading.read_json_file(self.where, "text_encoder/config.json", self.load_options.revision) or {}
        self.text_encoder_quantization = (config.get("quantization_config") or {}).get("quant_method")
        if self.text_encoder_quantization != "mxfp4":
            self.dequantize = None
            return {}
        import transformers

        self.dequantize = self._dequantize(self.device)
        return {"quantization_config": transformers.Mxfp4Config(dequantize=self.dequantize)}

    def _assemble(self, lens: Any, dtype: Any) -> Any:
        """LensPipeline built from its components, each loaded with its own class (see module docstring)."""
        revision = self.load_options.revision
        index = loading.read_json_file(self.where, "model_index.json", revision)
        if index is None:
            raise FileNotFoundError(f"no model_index.json in {self.where}")
        accepted = set(inspect.signature(lens.LensPipeline.__init__).parameters) - {"self"}
        components: dict[str, Any] = {"reasoner": None}
        for name, (library, class_name) in loading.pipeline_components(index).items():
            if name not in accepted or library is None:
                continue
            cls = getattr(lens, class_name, None) if class_name in LENS_COMPONENT_CLASSES else None
            if cls is None:
                with contextlib.suppress(ImportError):
                    cls = getattr(importlib.import_module(library), class_name, None)
            if cls is None:
                raise UserError(f"{self.where}/model_index.json declares {name} = [{library!r}, {class_name!r}], "
                                f"which neither the `lens` package nor {library} provides; {INSTALL_HINT}")
            extra = self._encoder_kwargs() if name == "text_encoder" else {}
            components[name] = loading.load_component(cls, self.where, name, revision=revision, dtype=dtype, **extra)
        pipe = lens.LensPipeline(**components)
        if getattr(pipe, "reasoner", None) is None and hasattr(lens, "PromptReasoner"):
            pipe.reasoner = lens.PromptReasoner(text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer,
                                                **self.reasoner_settings())
        return pipe

    def reasoner_settings(self) -> dict[str, Any]:
        return {"temperature": float(self.option("reasoner_temperature", UPSTREAM_REASONER["temperature"])),
                "max_new_tokens": int(self.option("reasoner_max_new_tokens", UPSTREAM_REASONER["max_new_tokens"]))}

    def load(self) -> None:
        if self.pipe is not None:  # already loaded (e.g. one generator shared by several runs)
            return
        opts = self.load_options
        module, self.source = import_lens()
        self.device = loading.resolve_device(opts.device)
        self.dtype_name = loading.resolve_dtype_name(self.spec, opts.dtype, self.device)
        dtype = loading.torch_dtype(self.dtype_name)
        self.where = loading.weights_location(self.spec, opts)
        loading.quiet_hub_progress()
        try:
            if self.source == "lens":
                pipe = self._assemble(module, dtype)
            else:
                pipe = module.LensPipeline.from_pretrained(self.where, revision=opts.revision,
                                                           **loading.dtype_kwargs(dtype))
        except (OSError, ValueError) as exc:
            raise loading.missing_weights_error(self.spec, self.where, exc) from exc
        loading.place(pipe, self.device, opts.offload)
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe

    def enable_reasoner(self) -> bool:
        return _is_true(self.option("enable_reasoner", False))

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

    def pipeline(self) -> Any:
        return self.pipe

    def generate(self, requests: Sequence[GenerationRequest], step_callback: StepCallback | None = None) -> list:
        if self.pipe is None:
            self.load()
        self.last_refined_prompts = None
        kwargs = self.call_kwargs(requests)
        if step_callback is not None and self.source == "lens":
            # lens/pipeline.py builds the callback's tensors with `{k: locals()[k] for k in ...}`: inside a
            # comprehension, which before Python 3.12 (PEP 709) has its own locals, so any requested tensor raises
            # KeyError. lensbench's step callback needs no tensors, so it asks for none.
            kwargs["callback_on_step_end_tensor_inputs"] = []
        if kwargs.get("enable_reasoner") and self.reasoner_settings()["temperature"] > 0:
            # the reasoner samples from torch's global RNG: seed it from the batch's first seed so the refined
            # prompts are reproducible from the records (the image noise comes from the per-image CPU generators)
            import torch

            torch.manual_seed(int(requests[0].seed))
        with upstream_stdout_to_log():
            images = loading.call_pipeline(self.pipe, kwargs, step_callback)
        refined = getattr(self.pipe, "_last_refined_prompts", None)
        self.last_refined_prompts = list(refined) if refined is not None and len(refined) == len(requests) else None
        return images

    def refined_prompts(self) -> list[str] | None:
        return self.last_refined_prompts if self.enable_reasoner() else None

    def info(self) -> dict[str, Any]:
        return {
            "model": self.spec.name,
            "adapter": "lens",
            "source": getattr(self, "source", None),
            "loading": "components loaded with their own classes, pipeline built from them"
            if getattr(self, "source", None) == "lens" else "LensPipeline.from_pretrained",
            "weights": getattr(self, "where", None),
            "revision": self.load_options.revision,
            "weights_identity": self.weights_identity(),
            **self.spec_facts(),
            "device": getattr(self, "device", None),
            "dtype": getattr(self, "dtype_name", None),
            "text_encoder_quantization": getattr(self, "text_encoder_quantization", None),
            "text_encoder_mxfp4_dequantized": getattr(self, "dequantize", None),
            "enable_reasoner": self.enable_reasoner(),
            "reasoner": {**self.reasoner_settings(), "upstream_defaults": dict(UPSTREAM_REASONER),
                         "sampling_seed": "torch.manual_seed(first seed of each call) when temperature > 0"},
            "offload": self.load_options.offload,
            "noise_device": "cpu",
            "versions": loading.library_versions(),
        }
