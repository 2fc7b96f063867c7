"""Adapter for HunyuanImage-3.0 (models.md §4): transformers remote code, `model.generate_image()`.

Remote code runs only with --trust-remote-code. The image size is always explicit (image_size="auto"
lets the model pick the aspect ratio, which confounds benchmarks); the model's own prompt rewriting stays
off (bot_task="image", no system prompt) unless options say otherwise; multi-GPU via device_map="auto".
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
        except OSError as exc:
            raise loading.missing_weights_error(self.spec, self.where, exc) from exc
        self.model = model

    def call_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        kw = {
            "prompt": request.prompt,
            "seed": request.seed,
            "image_size": (request.height, request.width),
            "use_system_prompt": self.option("use_system_prompt"),
            "bot_task": self.option("bot_task"),
            "stream": True,
            "diff_infer_steps": request.steps,
            "diff_guidance_scale": request.guidance,
            "flow_shift": self.option("flow_shift"),
        }
        kw.update(request.extra)
        return kw

    def generate(self, requests: Sequence[GenerationRequest], step_callback: StepCallback | None = None) -> list:
        if self.model is None:
            self.load()
        # generate_image takes one prompt per call; the model seeds its own noise from `seed`.
        return [self.model.generate_image(**self.call_kwargs(r)) for r in requests]

    def info(self) -> dict[str, Any]:
        return {
            "model": self.spec.name,
            "adapter": "hunyuan-image-3 (transformers remote code)",
            "weights": getattr(self, "where", None),
            "device_map": self.option("device_map"),
            "moe_impl": self.option("moe_impl"),
            "bot_task": self.option("bot_task"),
            "trust_remote_code": self.load_options.trust_remote_code,
            "noise_device": "model (generate_image seeds its own noise)",
            "step_callback": False,
            "versions": loading.library_versions(),
        }
