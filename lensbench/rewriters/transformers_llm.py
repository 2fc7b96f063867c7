"""`transformers` rewriter: a local causal LLM (any ``AutoModelForCausalLM`` checkpoint: a Hub repo id or a
directory) rewrites each prompt with ``model.generate``.

Options (identity): ``model`` (required), ``revision``, ``dtype`` (auto: bfloat16 on CUDA, float32 on CPU),
``max_new_tokens`` (256), ``min_new_tokens`` (0), ``temperature`` (0.0 = greedy), ``top_p`` (1.0), ``seed`` (0; torch
is re-seeded before each sampled prompt), ``system_prompt`` / ``system_prompt_file``, ``template`` (auto: the
tokenizer's chat template when it has one, else ``plain``: "<system>\\n\\nPrompt: <prompt>\\nRewritten prompt:"),
``trust_remote_code`` (false), ``on_empty`` (original | error). Transport: ``device`` (auto).
"""

from __future__ import annotations

from typing import Any

from lensbench.errors import UserError, require_module
from lensbench.rewriters.cached import CLEANER_VERSION, CachedRewriter, as_bool, clean_reply, sha256_text, system_prompt_from

PLAIN_TEMPLATE = "{system}\n\nPrompt: {prompt}\nRewritten prompt:"


class TransformersRewriter(CachedRewriter):
    name = "transformers"
    KNOWN_OPTIONS = frozenset({"model", "revision", "dtype", "max_new_tokens", "min_new_tokens", "temperature", "top_p",
                               "seed", "system_prompt", "system_prompt_file", "template", "trust_remote_code",
                               "on_empty"})

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        o = self.options
        if not o.get("model"):
            raise UserError("the transformers rewriter needs a model: pass --rewriter-option model=REPO_OR_DIR")
        self.model_name = str(o["model"])
        self.max_new_tokens = int(o.get("max_new_tokens", 256))
        self.min_new_tokens = int(o.get("min_new_tokens", 0))
        self.temperature = float(o.get("temperature", 0.0))
        self.top_p = float(o.get("top_p", 1.0))
        self.seed = int(o.get("seed", 0))
        self.template = str(o.get("template", "auto"))
        if self.template not in ("auto", "chat", "plain"):
            raise UserError(f"transformers rewriter template must be auto, chat or plain, got {self.template!r}")
        self.system_prompt = system_prompt_from(o)
        self.model = None
        self.tokenizer = None
        self.device = None

    def _dtype_name(self) -> str:
        dtype = str(self.options.get("dtype", "auto"))
        if dtype != "auto":
            if dtype not in ("float32", "float16", "bfloat16"):
                raise UserError(f"transformers rewriter dtype must be auto, float32, float16 or bfloat16, got {dtype!r}")
            return dtype
        return "bfloat16" if self._device().startswith("cuda") else "float32"

    def _device(self) -> str:
        device = str(self.options.get("device", "auto"))
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        return device

    def settings(self) -> dict[str, Any]:
        return {"model": self.model_name, "revision": self.options.get("revision"), "dtype": self._dtype_name(),
                "max_new_tokens": self.max_new_tokens, "min_new_tokens": self.min_new_tokens,
                "temperature": self.temperature, "top_p": self.top_p, "seed": self.seed, "template": self.template,
                "system_prompt_sha256": sha256_text(self.system_prompt),
                "on_empty": str(self.options.get("on_empty", "original")), "cleaner": CLEANER_VERSION}

    def load(self) -> None:
        if self.model is not None:
            return
        transformers = require_module("transformers", "the transformers rewriter", "pip install transformers")
        import torch

        self.device = self._device()
        revision = self.options.get("revision")
        trust = as_bool(self.options.get("trust_remote_code"), False)
        dtype = getattr(torch, self._dtype_name())
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(self.model_name, revision=revision,
                                                                        trust_remote_code=trust)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(self.model_name, revision=revision,
                                                                           trust_remote_code=trust, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load the rewriter LLM {self.model_name!r} ({exc}); pass model=<a local directory "
                            "or a Hub repo id with a causal LM>") from exc
        self.model.to(self.device).eval()

    def _use_chat(self) -> bool:
        has = bool(getattr(self.tokenizer, "chat_template", None))
        if self.template == "chat" and not has:
            raise UserError(f"the tokenizer of {self.model_name} has no chat template; pass template=plain")
        return has if self.template == "auto" else self.template == "chat"

    def build_input(self, prompt: str) -> str:
        if self._use_chat():
            messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": prompt}]
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return PLAIN_TEMPLATE.format(system=self.system_prompt, prompt=prompt)

    def _rewrite_uncached(self, prompts: list[str]) -> list[str]:
        import torch

        self.load()
        out = []
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        for prompt in prompts:
            text = self.build_input(prompt)
            enc = self.tokenizer(text, return_tensors="pt", add_special_tokens=not self._use_chat()).to(self.device)
            kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "min_new_tokens": self.min_new_tokens,
                                      "pad_token_id": pad}
            if self.temperature > 0:
                torch.manual_seed(self.seed)
                kwargs.update(do_sample=True, temperature=self.temperature, top_p=self.top_p)
            else:
                kwargs.update(do_sample=False)
            with torch.inference_mode():
                ids = self.model.generate(**enc, **kwargs)
            new = ids[0, enc["input_ids"].shape[1]:]
            reply = clean_reply(self.tokenizer.decode(new, skip_special_tokens=True))
            out.append(reply or self._empty(prompt, f"model {self.model_name}"))
        return out


def make_rewriter(options: dict[str, Any] | None = None) -> TransformersRewriter:
    return TransformersRewriter(options)
