"""VQA backends for DPG-Bench behind one batched interface: ``answer(images, questions) -> answers``.

* ``mplug``    OFFICIAL: ModelScope pipeline ``Tasks.visual_question_answering`` with
               ``damo/mplug_visual-question-answering_coco_large_en`` (mPLUG-large), answer = ``result['text']``
               (compute_dpg_bench.py, class MPLUG). Needs ``modelscope`` (and its fairseq-based model code).
* ``blip-vqa`` transformers ``BlipForQuestionAnswering`` (default ``Salesforce/blip-vqa-capfilt-large``),
               greedy ``generate``; a different model, so numbers differ from the official ones.
* ``vlm``      a chat VLM judge through transformers (default ``Qwen/Qwen2.5-VL-7B-Instruct``) asked
               ``"<question> Answer with yes or no."``; its answers are sentences, so the scorer defaults to
               the (non-official) ``normalized`` answer matching for it.
* ``tiny``     a tiny random BLIP VQA built locally from a config (`lensbench.scorers.dpg.tiny_blip`) and
               loaded through the ``blip-vqa`` code path: for tests and demos only, its answers are noise.

Heavy libraries are imported in `load()`, never at import time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from lensbench.errors import UserError, require_module
from lensbench.options import settings_dict
from lensbench.registry import Registry
from lensbench.util.device import resolve_device

OFFICIAL_MPLUG = "damo/mplug_visual-question-answering_coco_large_en"
DEFAULT_BLIP = "Salesforce/blip-vqa-capfilt-large"
DEFAULT_VLM = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_VLM_PROMPT = "{question} Answer with yes or no."


def resolve_dtype(dtype: str | None, device: str):
    import torch

    name = dtype or ("float16" if device.startswith("cuda") else "float32")
    name = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}.get(name, name)
    if name not in ("float32", "float16", "bfloat16"):
        raise UserError(f"unknown dtype {name!r}; use float32, float16 or bfloat16")
    return getattr(torch, name)


@dataclass(frozen=True)
class MplugOptions:
    model: str = OFFICIAL_MPLUG
    device: str = "auto"


@dataclass(frozen=True)
class BlipOptions:
    model: str = DEFAULT_BLIP
    device: str = "auto"
    dtype: str | None = None
    max_new_tokens: int = 10


@dataclass(frozen=True)
class TinyBlipOptions:
    """The tiny random BLIP VQA: ``seed`` is the seed of its random weights (not a bootstrap seed)."""

    seed: int = 0
    answer_bias: str | None = None
    device: str = "cpu"
    dtype: str | None = None
    max_new_tokens: int = 1


@dataclass(frozen=True)
class VlmOptions:
    model: str = DEFAULT_VLM
    device: str = "auto"
    dtype: str | None = None
    max_new_tokens: int = 8
    prompt: str = DEFAULT_VLM_PROMPT


class VqaBackend(ABC):
    """Answers yes/no questions about images, many (image, question) pairs per call."""

    name = "vqa"
    official = False
    default_answer_mode = "exact"
    Options: ClassVar[type] = MplugOptions

    def __init__(self, options: Mapping[str, Any] | Any = None):
        if not isinstance(options, self.Options):
            from lensbench.scorers.base import parse_one

            options = parse_one(self.Options, dict(options or {}), what=f"DPG-Bench VQA backend {self.name}")
        self.parsed = options
        self.options: dict[str, Any] = settings_dict(options)  # resolved values (the tiny backend adds its path)

    def load(self) -> None:
        """Load the model (once)."""

    @abstractmethod
    def answer(self, images: Sequence, questions: Sequence[str]) -> list[str]:
        """One raw answer string per (image, question) pair, in order."""

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "official": self.official, **self.options}

    def downloads(self) -> list[dict[str, Any]] | None:
        """Hub snapshots to prefetch (None: fetched some other way, e.g. ModelScope's own hub)."""
        import os

        model = str(self.options.get("model", ""))
        if not model or os.path.exists(os.path.expanduser(model)):
            return []
        return [{"repo_id": model, "revision": None}]

    def fingerprint(self) -> dict[str, Any]:
        """`describe()` plus the identity of the weights (Hub commit from the local cache, or local contents)."""
        from lensbench.scorers.identity import with_weights

        fp = self.describe()
        return with_weights(fp, "model") if "model" in fp else fp


class MplugBackend(VqaBackend):
    name = "mplug"
    official = True
    Options = MplugOptions

    def __init__(self, options=None):
        super().__init__(options)
        self._pipe = None

    def downloads(self) -> list[dict[str, Any]] | None:
        return None  # ModelScope hub, not Hugging Face: the pipeline downloads it on load

    def load(self) -> None:
        require_module("modelscope", "the official DPG-Bench VQA backend 'mplug'", "pip install modelscope fairseq timm")
        from modelscope.pipelines import pipeline
        from modelscope.utils.constant import Tasks

        device = resolve_device(self.options["device"])
        try:
            self._pipe = pipeline(Tasks.visual_question_answering, model=self.options["model"], device=device)
        except Exception as exc:  # modelscope raises many types for download/import failures
            raise UserError(
                f"could not build the mPLUG VQA pipeline {self.options['model']!r} ({type(exc).__name__}: {exc}); "
                "check the modelscope/fairseq install and model download, or use -O backend=blip-vqa"
            ) from exc

    def answer(self, images, questions):
        # The official script asks one question at a time; so do we (identical inputs to the pipeline).
        return [str(self._pipe({"image": im, "question": q})["text"]) for im, q in zip(images, questions)]


class BlipVqaBackend(VqaBackend):
    name = "blip-vqa"
    Options = BlipOptions

    def __init__(self, options=None):
        super().__init__(options)
        self._model = self._processor = None

    def load(self) -> None:
        require_module("transformers", "the DPG-Bench VQA backend 'blip-vqa'", "pip install transformers torch")
        from transformers import BlipForQuestionAnswering, BlipProcessor

        self._device = resolve_device(self.options["device"])
        self._dtype = resolve_dtype(self.options["dtype"], self._device)
        model_id = str(self.options["model"])
        try:
            self._processor = BlipProcessor.from_pretrained(model_id)
            model = BlipForQuestionAnswering.from_pretrained(model_id, dtype=self._dtype)
        except (OSError, ValueError) as exc:  # missing files / invalid repo id (HFValidationError)
            raise UserError(f"could not load BLIP VQA model {model_id!r} ({exc}); check the id/path or your HF hub access") from None
        self._model = model.to(self._device).eval()

    def answer(self, images, questions):
        import torch

        inputs = self._processor(
            images=[im.convert("RGB") for im in images], text=list(questions), return_tensors="pt", padding=True
        )
        inputs = {k: v.to(self._device) for k, v in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(self._dtype)
        with torch.inference_mode():
            out = self._model.generate(**inputs, max_new_tokens=int(self.options["max_new_tokens"]), do_sample=False)
        return [str(a) for a in self._processor.batch_decode(out, skip_special_tokens=True)]


class TinyBlipBackend(BlipVqaBackend):
    """A tiny random BLIP VQA built from a config into the cache, then loaded like ``blip-vqa``."""

    name = "tiny"
    Options = TinyBlipOptions

    def __init__(self, options=None):
        super().__init__(options)
        self.options = {"model": "tiny random BLIP VQA (built locally)", **self.options}

    def downloads(self) -> list[dict[str, Any]] | None:
        return []  # built locally

    def fingerprint(self) -> dict[str, Any]:
        """Seed and bias decide the tiny weights (its cache path is only known after `load`)."""
        return {**{k: v for k, v in self.describe().items() if k != "model"}, "weights": "tiny random BLIP VQA"}

    def load(self) -> None:
        from lensbench.scorers.dpg.tiny_blip import build_tiny_blip_vqa

        self.options["model"] = str(
            build_tiny_blip_vqa(seed=int(self.options["seed"]), answer_bias=self.options["answer_bias"])
        )
        super().load()


class VlmJudgeBackend(VqaBackend):
    name = "vlm"
    default_answer_mode = "normalized"
    Options = VlmOptions

    def __init__(self, options=None):
        super().__init__(options)
        self._model = self._processor = None

    def load(self) -> None:
        require_module("transformers", "the DPG-Bench VQA backend 'vlm'", "pip install transformers torch")
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self._device = resolve_device(self.options["device"])
        dtype = resolve_dtype(self.options["dtype"], self._device)
        model_id = str(self.options["model"])
        try:
            self._processor = AutoProcessor.from_pretrained(model_id)
            model = AutoModelForImageTextToText.from_pretrained(model_id, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise UserError(f"could not load VLM judge {model_id!r} ({exc}); check the id/path or your HF hub access") from None
        self._model = model.to(self._device).eval()
        tok = getattr(self._processor, "tokenizer", None)
        if tok is not None:
            tok.padding_side = "left"  # batched generation continues after the prompt

    def build_prompt(self, question: str) -> list[dict[str, Any]]:
        text = str(self.options["prompt"]).format(question=question)
        return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]

    def answer(self, images, questions):
        import torch

        texts = [
            self._processor.apply_chat_template(self.build_prompt(q), add_generation_prompt=True, tokenize=False)
            for q in questions
        ]
        inputs = self._processor(
            text=texts, images=[im.convert("RGB") for im in images], return_tensors="pt", padding=True
        ).to(self._device)
        with torch.inference_mode():
            out = self._model.generate(**inputs, max_new_tokens=int(self.options["max_new_tokens"]), do_sample=False)
        new_tokens = out[:, inputs["input_ids"].shape[1] :]
        return [str(a).strip() for a in self._processor.batch_decode(new_tokens, skip_special_tokens=True)]


BACKENDS: Registry = Registry("DPG-Bench VQA backend")
BACKENDS.register("mplug", MplugBackend)
BACKENDS.register("blip-vqa", BlipVqaBackend, aliases=("blip",))
BACKENDS.register("vlm", VlmJudgeBackend)
BACKENDS.register("tiny", TinyBlipBackend)


def make_backend(name: str, options: Mapping[str, Any] | Any = None) -> VqaBackend:
    """Build a backend by name from raw options or its options dataclass (unknown names: did-you-mean)."""
    cls = BACKENDS.get(name)
    return cls(options if isinstance(options, cls.Options) else dict(options or {}))
