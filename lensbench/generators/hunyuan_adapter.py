"""Adapter for HunyuanImage-3.0 (models.md §4): transformers remote code, `model.generate_image()`.

Remote code runs only with --trust-remote-code. The image size is always explicit (image_size="auto"
lets the model pick the aspect ratio, which confounds benchmarks); the model's own prompt rewriting stays
off (bot_task="image", no system prompt) unless options say otherwise; multi-GPU via device_map="auto".

Two facts of the real code (Tencent-Hunyuan/HunyuanImage-3.0 @ 1d011c8, hunyuan.py / image_processor.py, as read
for ../shared/thirdparty/README.md) shape this adapter:
- `flow_shift` passed to `generate_image` is NOT used for sampling: the scheduler is built once, on the first
  access of `model.pipeline`, from `model.generation_config.flow_shift`. So the shift is set there right after
  loading, before the first generation, and is not passed as a keyword (it would only look applied).
- `image_size` is snapped to the nearest bucket (`reso_group.get_target_size`), so the image returned can have
  another size than asked. The size of every returned image is checked; a different size is refused with the
  size the model actually made, so a run never records one size for images of another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.generators import loading
from lensbench.generators.base import GenerationRequest, Generator, StepCallback


class HunyuanImage3Generator(Generator):
    model: Any = None
    known_options = frozenset({"bot_task", "use_system_prompt", "flow_shift", "attn_implementation", "device_map",
                               "moe_impl"})

    def __init__(self, spec, load):
        super().__init__(spec, load)
        self.returned_sizes: set[tuple[int, int]] = set()

    def option(self, key: str) -> Any:
        return self.load_options.options.get(key, self.spec.options.get(key))

    def _local_dir(self) -> str:
        where = self.load_options.model_path
        if not where:
            raise UserError(
                f"{self.spec.name} cannot load from the Hub id {self.spec.repo_id} (the dot in the name breaks its remote "
                "code): download it into a directory whose name has no dots (e.g. `lensbench fetch hunyuan-image-3`, "
                "or huggingface-cli download into ./HunyuanImage-3) and pass --model-path DIR"
            )
        if "." in Path(where).name:
            raise UserError(f"rename {where} to a name without dots (e.g. HunyuanImage-3): its remote code cannot "
                            "be imported from a directory whose name has a dot")
        if not loading.is_local_dir(where):
            raise UserError(f"--model-path {where} is not a directory; download the weights there first")
        return where

    def load(self) -> None:
        if self.model is not None:  # already loaded (e.g. one generator shared by several runs)
            return
        if not self.load_options.trust_remote_code:
            raise UserError(f"{self.spec.name} runs code shipped with its weights; review it, then re-run with --trust-remote-code")
        self.where = self._local_dir()
        self.device = loading.resolve_device(self.load_options.device)
        loading.check_min_version("transformers", self.spec.requires.min_transformers, self.spec.name)
        import transformers

        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                self.where,
                attn_implementation=self.option("attn_implementation"),
                trust_remote_code=True,
                torch_dtype="auto" if self.load_options.dtype is None else loading.torch_dtype(
                    loading.resolve_dtype_name(self.spec, self.load_options.dtype, self.device)),
                device_map=self.option("device_map"),
                moe_impl=self.option("moe_impl"),
            )
            model.load_tokenizer(self.where)
        except (OSError, ValueError) as exc:  # ValueError: a directory without a usable config.json
            raise loading.missing_weights_error(self.spec, self.where, exc) from exc
        self.flow_shift = self._apply_flow_shift(model)
        self.model = model

    def _apply_flow_shift(self, model: Any) -> dict[str, Any]:
        """Set `generation_config.flow_shift` before the first generation (the only place the shift takes effect)."""
        shift = self.option("flow_shift")
        config = getattr(model, "generation_config", None)
        checkpoint = getattr(config, "flow_shift", None)
        if shift is None:
            return {"value": checkpoint, "source": "generation_config (checkpoint)"}
        if config is None or not hasattr(config, "flow_shift"):
            raise UserError(f"{self.spec.name}: this checkpoint's generation_config has no flow_shift, so "
                            "-M flow_shift cannot take effect; drop the option")
        config.flow_shift = float(shift)
        return {"value": float(shift), "source": "generation_config.flow_shift set before the first generation",
                "checkpoint_value": checkpoint}

    def image_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        """Keyword arguments of one `generate_image` call (no flow_shift: see the module docstring)."""
        kw = {
            "prompt": request.prompt,
            "seed": request.seed,
            "image_size": (request.height, request.width),
            "use_system_prompt": self.option("use_system_prompt"),
            "bot_task": self.option("bot_task"),
            "stream": True,
            "diff_infer_steps": request.steps,
            "diff_guidance_scale": request.guidance,
        }
        kw.update(request.extra)
        return kw

    def generate(self, requests: Sequence[GenerationRequest], step_callback: StepCallback | None = None) -> list:
        if self.model is None:
            self.load()
        images = []
        for r in requests:  # generate_image takes one prompt per call; the model seeds its own noise from `seed`
            image = self.model.generate_image(**self.image_kwargs(r))
            self.returned_sizes.add(tuple(image.size))
            if tuple(image.size) != (r.width, r.height):
                w, h = image.size
                raise UserError(f"{self.spec.name} made a {w}x{h} (WxH) image for the planned {r.width}x{r.height}: "
                                "generate_image snaps image_size to its nearest resolution bucket; re-run with "
                                f"--width {w} --height {h} so the records describe the images")
            images.append(image)
        return images

    def info(self) -> dict[str, Any]:
        return {
            "model": self.spec.name,
            "adapter": "hunyuan-image-3 (transformers remote code)",
            "weights": getattr(self, "where", None),
            "device_map": self.option("device_map"),
            "moe_impl": self.option("moe_impl"),
            "bot_task": self.option("bot_task"),
            "flow_shift": getattr(self, "flow_shift", None),
            "image_size": "explicit (H, W); returned sizes are checked against the plan (bucket snapping)",
            "weights_identity": self.weights_identity(),
            "trust_remote_code": self.load_options.trust_remote_code,
            "noise_device": "model (generate_image seeds its own noise)",
            "step_callback": False,
            "versions": loading.library_versions(),
        }
