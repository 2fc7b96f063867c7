"""`lens` rewriter: the Lens package's own prompt reasoner (``lens.reasoner.PromptReasoner`` of
github.com/microsoft/Lens; models.md section 1.8), run in front of any model and recorded like every rewriter.

Modes (option ``mode``):

- ``local`` (default): the reasoner generates with Lens's own GPT-OSS-20B text encoder, as ``enable_reasoner=True``
  does inside LensPipeline (upstream: reasoning_effort low, temperature 0.7, max_new_tokens 4096). The encoder is
  loaded from ``model_path`` (default microsoft/Lens; subfolders ``text_encoder`` and ``tokenizer``) in MXFP4,
  dequantized below Hopper (``dequantize`` auto | true | false), on ``device`` (auto).
- ``api``: the reasoner calls an OpenAI-compatible endpoint through the ``openai`` package, as upstream does
  when ``openai_api_key/base_url/model`` are set: options ``base_url``, ``model`` and ``api_key_env`` (the NAME
  of the environment variable holding the key; default OPENAI_API_KEY; the key is never recorded).

Options ``temperature`` and ``max_new_tokens`` default to upstream's. The identity records the mode, the
settings and the sha256 of the installed ``lens/reasoner.py`` (its system prompt and output cleaning), so a changed
upstream reasoner never reuses old rewrites.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lensbench.errors import UserError
from lensbench.redact import register_secret, scrub
from lensbench.rewriters.cached import CacheOptions, CachedRewriter
from lensbench.clients.openai_chat import DEFAULT_KEY_ENV, check_base_url, check_key_env
from lensbench.util.files import sha256_file

INSTALL = ("the lens rewriter needs the `lens` package of github.com/microsoft/Lens: git clone it and add the clone "
           "to PYTHONPATH (or pip install it from the clone); or use --rewriter openai")
UPSTREAM_TEMPERATURE = 0.7  # lens/reasoner.py PromptReasoner default (models.md 1.8)
UPSTREAM_MAX_NEW_TOKENS = 4096
DEFAULT_REPO = "microsoft/Lens"


@dataclass(frozen=True)
class LensOptions(CacheOptions):
    mode: Literal["local", "api"] = "local"
    model_path: str | None = None
    revision: str | None = None
    dequantize: Literal["auto"] | bool = "auto"
    temperature: float = UPSTREAM_TEMPERATURE
    max_new_tokens: int = UPSTREAM_MAX_NEW_TOKENS
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = DEFAULT_KEY_ENV
    allow_insecure_http: bool = False
    device: str = "auto"


def reasoner_source() -> Path:
    """Path of the installed lens/reasoner.py, without importing it (a clear UserError when it is missing)."""
    try:
        spec = importlib.util.find_spec("lens")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise UserError(INSTALL)
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "reasoner.py"
        if candidate.is_file():
            return candidate
    raise UserError(f"the installed `lens` package ({list(spec.submodule_search_locations)[0]}) has no reasoner.py; "
                    + INSTALL)


def _declares_mxfp4(where: str, revision: str | None) -> bool:
    """True when the checkpoint's text_encoder/config.json declares MXFP4 quantization."""
    import transformers

    try:
        config, _ = transformers.PretrainedConfig.get_config_dict(where, subfolder="text_encoder", revision=revision)
    except (OSError, ValueError):
        return False  # from_pretrained reports the missing checkpoint itself
    return (config.get("quantization_config") or {}).get("quant_method") == "mxfp4"


class LensReasonerRewriter(CachedRewriter):
    name = "lens"
    Options = LensOptions

    def __init__(self, options: dict[str, Any] | None = None, *, trust_remote_code: bool = False):
        super().__init__(options, trust_remote_code=trust_remote_code)
        o: LensOptions = self.opts
        self.mode = o.mode
        self.temperature = o.temperature
        self.max_new_tokens = o.max_new_tokens
        self.api_key_env = check_key_env(o.api_key_env)
        self.base_url = (check_base_url(o.base_url, allow_insecure_http=o.allow_insecure_http)
                         if o.base_url else None)
        if self.mode == "api" and not o.model:
            raise UserError("lens rewriter mode=api needs --rewriter-option model=NAME (and base_url=URL)")
        self.source = reasoner_source()  # fail before any generation when the package is missing
        self._reasoner = None
        self._key: str | None = None

    def settings(self) -> dict[str, Any]:
        o: LensOptions = self.opts
        s: dict[str, Any] = {"mode": self.mode, "temperature": self.temperature, "max_new_tokens": self.max_new_tokens,
                             "reasoner_sha256": sha256_file(self.source),
                             "on_empty": o.on_empty}
        if self.mode == "api":
            s.update(base_url=self.base_url, model=str(o.model), api_key_env=self.api_key_env)
            if o.allow_insecure_http:
                s["allow_insecure_http"] = True
        else:
            s.update(model_path=str(o.model_path or DEFAULT_REPO), revision=o.revision, dequantize=str(o.dequantize))
        return s

    # -- loading ---------------------------------------------------------------------------------------------------
    def _module(self):
        try:
            module = importlib.import_module("lens.reasoner")
        except ImportError as exc:
            raise UserError(f"importing lens.reasoner failed ({exc}); " + INSTALL) from exc
        if not hasattr(module, "PromptReasoner"):
            raise UserError("the installed `lens` package has no lens.reasoner.PromptReasoner; " + INSTALL)
        return module

    def reasoner(self):
        if self._reasoner is None:
            cls = self._module().PromptReasoner
            common = {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature}
            if self.mode == "api":
                key = os.environ.get(self.api_key_env)
                if not key:
                    raise UserError(f"lens rewriter mode=api reads its key from the environment variable "
                                    f"{self.api_key_env}, which is not set; export it (or pass api_key_env=NAME)")
                register_secret(key)
                self._key = key
                self._reasoner = cls(openai_api_key=key, openai_base_url=self.base_url,
                                     openai_model=str(self.opts.model), **common)
            else:
                encoder, tokenizer = self._load_local()
                self._reasoner = cls(text_encoder=encoder, tokenizer=tokenizer, **common)
        return self._reasoner

    def _load_local(self):
        """Lens's GPT-OSS text encoder + tokenizer, loaded as upstream inference.py does (models.md 1.3)."""
        import torch
        import transformers

        lens = importlib.import_module("lens")  # registers LensGptOssEncoder with transformers
        encoder_cls = getattr(lens, "LensGptOssEncoder", None)
        if encoder_cls is None:
            raise UserError("the installed `lens` package has no LensGptOssEncoder; " + INSTALL)
        from lensbench.util.device import resolve_device

        where = str(self.opts.model_path or DEFAULT_REPO)
        revision = self.opts.revision
        device = resolve_device(self.opts.device)
        dequantize = self.opts.dequantize
        if dequantize == "auto":
            dequantize = not device.startswith("cuda") or torch.cuda.get_device_capability(device)[0] < 9
        kwargs: dict[str, Any] = {"subfolder": "text_encoder", "revision": revision, "dtype": torch.bfloat16}
        if hasattr(transformers, "Mxfp4Config") and _declares_mxfp4(where, revision):
            # only for MXFP4 checkpoints (the published ones): on a bf16 mirror it could quantize on load
            kwargs["quantization_config"] = transformers.Mxfp4Config(dequantize=bool(dequantize))
        try:
            encoder = encoder_cls.from_pretrained(where, **kwargs)
            tokenizer = transformers.AutoTokenizer.from_pretrained(where, subfolder="tokenizer", revision=revision)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load the Lens text encoder/tokenizer from {where} ({exc}); pass "
                            "--rewriter-option model_path=DIR (a Lens checkpoint or mirror)") from exc
        if hasattr(encoder, "to"):
            encoder = encoder.to(device)
        return encoder, tokenizer

    def _rewrite_uncached(self, prompts: list[str]) -> list[str]:
        reasoner = self.reasoner()
        try:
            refined = list(reasoner.refine(list(prompts), enable=True))
        except Exception as exc:  # noqa: BLE001 - upstream's error text may carry the endpoint's echo of the key
            if self.mode != "api":
                raise
            secrets = (self._key,) if self._key else ()
            raise UserError(f"the lens reasoner's endpoint failed ({scrub(f'{type(exc).__name__}: {exc}', secrets)}); "
                            "check base_url, model and the key") from None
        if len(refined) != len(prompts):
            raise RuntimeError(f"lens PromptReasoner returned {len(refined)} prompts for {len(prompts)}")
        return [r.strip() if isinstance(r, str) and r.strip() else self._empty(p, "lens reasoner")
                for p, r in zip(prompts, refined)]


def make_rewriter(options: dict[str, Any] | None = None) -> LensReasonerRewriter:
    return LensReasonerRewriter(options)
