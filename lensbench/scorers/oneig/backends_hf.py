"""The official OneIG models (loading code for users with the weights; every import is lazy).

Facts from OneIG-Bench/OneIG-Benchmark scripts/utils/inference.py @ 41b4983:
- Qwen2.5-VL-7B-Instruct: ``Qwen2_5_VLForConditionalGeneration`` in bfloat16 (flash_attention_2 there,
  ``device_map="auto"``), ``AutoProcessor``; chat message ``[image, text]`` per tile, ``apply_chat_template(...,
  add_generation_prompt=True)``, ``qwen_vl_utils.process_vision_info``, padded batch of all tiles of one
  question, ``generate(max_new_tokens=128)`` with the checkpoint's generation config, decode of the new tokens
  with ``skip_special_tokens=True, clean_up_tokenization_spaces=False``; ``torch.manual_seed(42)`` once.
- LLM2CLIP: ``CLIPImageProcessor`` of openai/clip-vit-large-patch14-336; ``AutoModel`` LLM2CLIP-Openai-L-14-336
  (bfloat16, remote code); the Llama-3-8B LLM2Vec text model (remote code) wrapped by ``LLM2Vec(pooling_mode=
  "mean", max_length=512, doc_max_length=512)``; cos(image_features, text_features) under autocast.
- CSD: OpenAI CLIP ViT-L/14 visual tower without ``proj``; style head = a copy of ``proj`` (1024 -> 768);
  output L2-normalised; ``checkpoint['model_state_dict']`` with ``module.`` prefixes removed, loaded with
  ``strict=False``; preprocessing Resize(224, bicubic), CenterCrop(224), CLIP mean/std.
- OneIG-StyleEncoder: ``CLIPVisionModelWithProjection`` (bfloat16), default ``CLIPImageProcessor()``,
  L2-normalised ``image_embeds``.
- DreamSim: ``dreamsim(pretrained=True)`` (the ensemble), distance = ``model(preprocess(a), preprocess(b))``.
"""

from __future__ import annotations

from typing import Any

from lensbench.errors import UserError, require_module
from lensbench.scorers.oneig import official as of
from lensbench.scorers.oneig.backends import Distance, Ocr, StyleEmbed, TextImage, Vqa
from lensbench.util.device import resolve_device
from lensbench.util.identity import package_version

_DTYPES = ("bfloat16", "float16", "float32")


def _dtype(name: str):
    import torch

    return getattr(torch, name)


class _Qwen:
    """One Qwen2.5-VL shared by the alignment and text backends (loaded once per process)."""

    _cache: dict[tuple, "_Qwen"] = {}

    @classmethod
    def get(cls, o) -> "_Qwen":
        key = (o.qwen_model, o.revision, o.device, o.dtype, o.attn_implementation)
        if key not in cls._cache:
            cls._cache[key] = cls(o)
        return cls._cache[key]

    def __init__(self, o):
        import torch

        transformers = require_module("transformers", "the Qwen2.5-VL backend", "pip install transformers")
        self.device = resolve_device(o.device)
        kw: dict[str, Any] = {"torch_dtype": _dtype(o.dtype), "revision": o.revision}
        if o.attn_implementation:
            kw["attn_implementation"] = o.attn_implementation
        if self.device == "cuda":
            kw["device_map"] = "auto"
        self.model = transformers.Qwen2_5_VLForConditionalGeneration.from_pretrained(o.qwen_model, **kw).eval()
        if self.device != "cuda":
            self.model.to(self.device)
        self.processor = transformers.AutoProcessor.from_pretrained(o.qwen_model, revision=o.revision)
        torch.manual_seed(42)  # inference.py seeds once at import

    def generate(self, tiles, text: str, max_new_tokens: int) -> list[str]:
        import torch

        messages = [[{"role": "user", "content": [{"type": "image", "image": t}, {"type": "text", "text": text}]}]
                    for t in tiles]
        texts = [self.processor.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in messages]
        try:  # the official resize rules (smart_resize to multiples of 28 within min/max pixels)
            from qwen_vl_utils import process_vision_info

            images, _videos = process_vision_info(messages)
        except ImportError:
            images = list(tiles)  # the processor applies the same smart_resize defaults
        inputs = self.processor(text=texts, images=images, padding=True, return_tensors="pt").to(self.model.device)
        with torch.no_grad():
            ids = self.model.generate(**inputs, max_new_tokens=max_new_tokens)
        trimmed = [out[len(inp):] for inp, out in zip(inputs.input_ids, ids)]
        return self.processor.batch_decode(trimmed, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def _qwen_describe(o, what: str, prompt: str) -> dict[str, Any]:
    return {"backend": "qwen2.5-vl", "model": o.qwen_model, "revision": o.revision, "dtype": o.dtype,
            "attn_implementation": o.attn_implementation or "transformers default", "task": what, "prompt": prompt,
            "decoding": "checkpoint generation_config", "process_vision_info": _has("qwen_vl_utils")}


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


class _QwenRole:
    """One role (`task` with `prompt`) of the shared Qwen2.5-VL judge: VQA and OCR use the same loaded model."""

    name = "qwen"
    official = True
    task = prompt = ""

    def __init__(self, options=None):
        super().__init__(options)
        self.judge = options.qwen_model

    def describe(self):
        return _qwen_describe(self.options, self.task, self.prompt)

    def load(self):
        self.qwen = _Qwen.get(self.options)


class QwenVqa(_QwenRole, Vqa):
    task, prompt = "vqa", "{question}" + of.VQA_SUFFIX

    def answer(self, tiles, question):
        return self.qwen.generate(tiles, f"{question}{of.VQA_SUFFIX}", of.OCR_TOKENS_SHORT)


class QwenOcr(_QwenRole, Ocr):
    task, prompt = "ocr", of.OCR_PROMPT

    def read(self, tiles, max_new_tokens):
        return self.qwen.generate(tiles, of.OCR_PROMPT, max_new_tokens)


class Llm2Clip(TextImage):
    name = "llm2clip"
    official = True

    def describe(self):
        o = self.options
        return {"backend": "llm2clip", "model": o.llm2clip_model, "llm": o.llm2clip_llm, "llm2vec": o.llm2vec_module,
                "processor": o.llm2clip_processor, "revision": o.revision, "pooling": "mean", "max_length": 512}

    def load(self):
        import torch

        o = self.options
        if not o.trust_remote_code:
            raise UserError(f"LLM2CLIP ({o.llm2clip_model}) runs model code shipped with its weights; pass "
                            "--trust-remote-code to `lensbench score` to allow it (or -O reasoning_model=tiny in tests)")
        transformers = require_module("transformers", "the LLM2CLIP backend", "pip install transformers")
        llm2vec = require_module(o.llm2vec_module, "the LLM2CLIP backend (LLM2Vec text encoder)",
                                 "put OneIG-Benchmark on PYTHONPATH and pass -O llm2vec_module=scripts.utils.llm2clip.llm2vec "
                                 "(PyPI llm2vec pins transformers<=4.44.2)")
        self.device = resolve_device(o.device)
        self.processor = transformers.CLIPImageProcessor.from_pretrained(o.llm2clip_processor)
        self.model = transformers.AutoModel.from_pretrained(o.llm2clip_model, torch_dtype=torch.bfloat16,
                                                            trust_remote_code=True, revision=o.revision)
        self.model = self.model.to(self.device).eval()
        config = transformers.AutoConfig.from_pretrained(o.llm2clip_llm, trust_remote_code=True)
        llm = transformers.AutoModel.from_pretrained(o.llm2clip_llm, torch_dtype=torch.bfloat16, config=config,
                                                     trust_remote_code=True)
        tok = transformers.AutoTokenizer.from_pretrained(o.llm2clip_llm)
        llm.config._name_or_path = "meta-llama/Meta-Llama-3-8B-Instruct"  # the official LLM2Vec workaround
        self.l2v = llm2vec.LLM2Vec(llm, tok, pooling_mode="mean", max_length=512, doc_max_length=512)

    def similarities(self, tiles, text):
        import torch

        if not tiles:
            return None  # official: the processor raises on an empty list -> None
        pixels = self.processor(images=list(tiles), return_tensors="pt").pixel_values.to(self.device)
        t = self.l2v.encode([text], convert_to_tensor=True).to(self.device)
        with torch.no_grad(), torch.autocast(self.device if self.device != "cpu" else "cpu"):
            img = self.model.get_image_features(pixels)
            txt = self.model.get_text_features(t)
            img = img / img.norm(dim=-1, keepdim=True)
            txt = txt / txt.norm(dim=-1, keepdim=True)
            return [float(row[0]) for row in (img @ txt.T).float().cpu().tolist()]


class CsdSeStyle(StyleEmbed):
    name = "csd+se"
    official = True

    def describe(self):
        o = self.options
        return {"backend": "csd+se", "csd_checkpoint": o.csd_checkpoint, "csd_arch": o.csd_arch,
                "clip_checkpoint": o.clip_checkpoint,
                "style_encoder": o.style_encoder, "revision": o.revision, "se_dtype": "bfloat16"}

    def load(self):
        import torch

        o = self.options
        if not o.csd_checkpoint:
            raise UserError(f"the style dimension needs the CSD checkpoint ({of.CSD_CHECKPOINT}); pass "
                            "-O csd_checkpoint=PATH (or -O style_model=tiny in tests)")
        open_clip = require_module("open_clip", "the CSD style backend", "pip install open-clip-torch")
        transformers = require_module("transformers", "the OneIG-StyleEncoder backend", "pip install transformers")
        from torchvision import transforms

        self.device = resolve_device(o.device)
        # the CSD backbone is OpenAI CLIP ViT-L/14 (QuickGELU); its weights come from the CSD checkpoint, which
        # the official code loads over clip.load("ViT-L-14.pt") with strict=False
        clip_model = open_clip.create_model(o.csd_arch, pretrained=o.clip_checkpoint, force_quick_gelu=True)
        visual = clip_model.visual.float()
        try:
            ckpt = torch.load(o.csd_checkpoint, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is refused the same way
            raise UserError(f"{o.csd_checkpoint} cannot be loaded with torch.load(weights_only=True) ({type(exc).__name__}); "
                            "lensbench never unpickles objects: re-save only its 'model_state_dict' tensors") from None
        state = ckpt.get("model_state_dict", ckpt) if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise UserError(f"{o.csd_checkpoint} holds no 'model_state_dict'; use the official CSD checkpoint")
        state = {k.removeprefix("module."): v for k, v in state.items()}
        backbone = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
        missing, _unexpected = visual.load_state_dict(backbone, strict=False)  # official: strict=False
        self.csd_missing = sorted(k for k in missing if k != "proj")
        if self.csd_missing and not o.clip_checkpoint:
            raise UserError(f"the CSD checkpoint lacks {len(self.csd_missing)} backbone weight(s) (e.g. "
                            f"{self.csd_missing[0]}); pass -O clip_checkpoint=openai so they come from CLIP as officially")
        if "last_layer_style" not in state:
            raise UserError(f"{o.csd_checkpoint} has no last_layer_style (the CSD style head); use the official checkpoint")
        self.style_proj = state["last_layer_style"].float().to(self.device)
        visual.proj = None
        self.visual = visual.to(self.device).eval()
        self.csd_pre = transforms.Compose([
            transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC), transforms.CenterCrop(224),
            transforms.ToTensor(), transforms.Normalize((0.48145466, 0.4578275, 0.40821073),
                                                        (0.26862954, 0.26130258, 0.27577711))])
        self.se = transformers.CLIPVisionModelWithProjection.from_pretrained(o.style_encoder, revision=o.revision)
        self.se = self.se.to(self.device, dtype=torch.bfloat16).eval()
        self.se_pre = transformers.CLIPImageProcessor()

    def embed(self, tile):
        import torch

        with torch.no_grad():
            x = self.csd_pre(tile.convert("RGB")).unsqueeze(0).to(self.device)
            csd = torch.nn.functional.normalize(self.visual(x) @ self.style_proj, dim=1, p=2)[0]
            px = self.se_pre(images=tile.convert("RGB"), return_tensors="pt").pixel_values
            se = self.se(px.to(self.device, dtype=torch.bfloat16)).image_embeds
            se = torch.nn.functional.normalize(se, p=2, dim=-1)[0]
        return csd.float().cpu(), se.float().cpu()


class DreamSimDistance(Distance):
    name = "dreamsim"
    official = True

    def describe(self):
        return {"backend": "dreamsim", "model": of.DREAMSIM, "dreamsim_version": package_version("dreamsim")}

    def load(self):
        mod = require_module("dreamsim", "the DreamSim diversity backend", "pip install dreamsim")
        self.device = resolve_device(self.options.device)
        from lensbench.util.files import cache_root

        # dreamsim's own default cache_dir is "./models" (the official README's folder); lensbench never writes
        # into the working directory, so the default is the lensbench cache
        cache = self.options.dreamsim_cache or str(cache_root() / "models" / "dreamsim")
        self.model, self.preprocess = mod.dreamsim(pretrained=True, device=self.device, cache_dir=cache,
                                                   dreamsim_type="ensemble")

    def distance(self, a, b):
        import torch

        with torch.no_grad():
            return float(self.model(self.preprocess(a).to(self.device), self.preprocess(b).to(self.device)).item())


def downloads(scorer) -> list[dict[str, Any]]:
    """Hub snapshots `lensbench fetch oneig` caches for the backends in use."""
    o, names = scorer.options, scorer.names
    out = []
    if "qwen" in (names["vqa"], names["ocr"]):
        out.append({"repo_id": o.qwen_model, "revision": o.revision})
    if names["reasoning_model"] == "llm2clip":
        out += [{"repo_id": r, "revision": o.revision} for r in (o.llm2clip_model, o.llm2clip_llm, o.llm2clip_processor)]
    if names["style_model"] == "csd+se":
        out.append({"repo_id": o.style_encoder, "revision": o.revision})
    return out


def _in_hf_cache(repo_id: str, revision: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    if "/" not in repo_id or repo_id.startswith(("/", ".")):
        from pathlib import Path

        return Path(repo_id).is_dir()
    got = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    return isinstance(got, str)


def availability(scorer, *, load: bool = False) -> list[tuple[str, str, str, str]]:
    """(what, status, detail, fix) per backend in use, for `lensbench doctor`: packages importable, weights in
    the local caches (or the given paths), and with `load` the model actually loading."""
    o, names = scorer.options, scorer.names
    need = {"vqa": ("transformers",), "ocr": ("transformers",),
            "reasoning_model": ("transformers", o.llm2vec_module.split(".")[0]),
            "style_model": ("transformers", "open_clip", "torchvision"), "diversity_model": ("dreamsim",)}
    install = {o.llm2vec_module.split(".")[0]: "put OneIG-Benchmark on PYTHONPATH, -O llm2vec_module=scripts.utils.llm2clip.llm2vec",
               "dreamsim": "pip install dreamsim", "open_clip": "pip install open-clip-torch",
               "transformers": "pip install transformers", "torchvision": "pip install torchvision"}
    official = {"vqa": "qwen", "ocr": "qwen", "reasoning_model": "llm2clip", "style_model": "csd+se",
                "diversity_model": "dreamsim"}
    out = []
    for kind, name in names.items():
        what = f"{kind} ({name})"
        if name != official[kind]:
            out.append((what, "info", "non-official backend (recorded as a deviation)", ""))
            continue
        missing = [m for m in need[kind] if not _has(m)]
        if missing:
            out.append((what, "missing", f"Python package(s) {', '.join(missing)} not installed", install[missing[0]]))
            continue
        repos = [d["repo_id"] for d in downloads(scorer) if
                 (kind in ("vqa", "ocr") and d["repo_id"] == o.qwen_model)
                 or (kind == "reasoning_model" and d["repo_id"] in (o.llm2clip_model, o.llm2clip_llm, o.llm2clip_processor))
                 or (kind == "style_model" and d["repo_id"] == o.style_encoder)]
        absent = [r for r in repos if not _in_hf_cache(r, o.revision)]
        if kind == "style_model" and not (o.csd_checkpoint and __import__("os").path.isfile(o.csd_checkpoint)):
            out.append((what, "missing", f"CSD checkpoint not given or not found ({o.csd_checkpoint})",
                        f"download {of.CSD_CHECKPOINT} and pass -O csd_checkpoint=PATH"))
            continue
        if absent:
            out.append((what, "missing", f"{', '.join(absent)} not in the Hugging Face cache", "lensbench fetch oneig"))
            continue
        if load:
            try:
                scorer.backends[kind].load()
            except Exception as exc:  # noqa: BLE001 - a finding, reported in one line
                out.append((what, "missing", f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}",
                            "lensbench fetch oneig"))
                continue
        out.append((what, "ok", "loads" if load else "weights and packages present", ""))
    return out
