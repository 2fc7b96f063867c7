"""`transformers` rewriter: a local causal LLM (any ``AutoModelForCausalLM`` checkpoint: a Hub repo id or a
directory) rewrites each prompt with ``model.generate``.

Options (identity): ``model`` (required), ``revision``, ``dtype`` (auto: bfloat16 on CUDA, float32 on CPU),
``max_new_tokens`` (256), ``min_new_tokens`` (0), ``temperature`` (0.0 = greedy), ``top_p`` (1.0), ``seed`` (0; torch
is re-seeded before each sampled prompt), ``system_prompt`` / ``system_prompt_file``, ``template`` (auto: the
tokenizer's chat template when it has one, else ``plain``: "<system>\\n\\nPrompt: <prompt>\\nRewritten prompt:"),
``on_empty`` (original | error). Transport: ``device`` (auto), ``cache``, ``cache_dir``.

``trust_remote_code`` is not an option (a grid or config file must never turn it on): the CLI flag
``--trust-remote-code`` or the Python argument ``make_rewriter(..., trust_remote_code=True)`` sets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lensbench.errors import UserError, require_module
from lensbench.rewriters.cached import CLEANER_VERSION, CachedRewriter, PromptOptions, clean_reply, sha256_text, system_prompt_from

PLAIN_TEMPLATE = "{system}\n\nPrompt: {prompt}\nRewritten prompt:"


@dataclass(frozen=True)
class TransformersOptions(PromptOptions):
    model: str = ""
    revision: str | None = None
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    max_new_tokens: int = 256
    min_new_tokens: int = 0
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    template: Literal["auto", "chat", "plain"] = "auto"
    device: str = "auto"


class TransformersRewriter(CachedRewriter):
    name = "transformers"
    Options = TransformersOptions

    def __init__(self, options: dict[str, Any] | None = None, *, trust_remote_code: bool = False):
        if "trust_remote_code" in (options or {}):
            raise UserError("trust_remote_code is not a rewriter option (a grid or config file must not enable remote "
                            "code); pass --trust-remote-code on the command line, or trust_remote_code=True in Python")
        super().__init__(options, trust_remote_code=trust_remote_code)
        o: TransformersOptions = self.opts
        if not o.model:
            raise UserError("the transformers rewriter needs a model: pass --rewriter-option model=REPO_OR_DIR")
        self.model_name = o.model
        self.max_new_tokens, self.min_new_tokens = o.max_new_tokens, o.min_new_tokens
        self.temperature, self.top_p, self.seed, self.template = o.temperature, o.top_p, o.seed, o.template
        self.system_prompt = system_prompt_from(o)
        self.model = None
        self.tokenizer = None
        self.device = None

    def _dtype_name(self) -> str:
        if self.opts.dtype != "auto":
            return self.opts.dtype
        return "bfloat16" if self._device().startswith("cuda") else "float32"

    def _device(self) -> str:
        from lensbench.util.device import resolve_device

        return resolve_device(self.opts.device)

    def settings(self) -> dict[str, Any]:
        extra = {"trust_remote_code": True} if self.trust_remote_code else {}  # recorded only when given
        return extra | {"model": self.model_name, "revision": self.opts.revision, "dtype": self._dtype_name(),
                "max_new_tokens": self.max_new_tokens, "min_new_tokens": self.min_new_tokens,
                "temperature": self.temperature, "top_p": self.top_p, "seed": self.seed, "template": self.template,
                "system_prompt_sha256": sha256_text(self.system_prompt),
                "on_empty": self.opts.on_empty, "cleaner": CLEANER_VERSION}

    def load(self) -> None:
        if self.model is not None:
            return
        transformers = require_module("transformers", "the transformers rewriter", "pip install transformers")
        import torch

        self.device = self._device()
        revision = self.opts.revision
        trust = self.trust_remote_code
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
