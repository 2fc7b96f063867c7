"""`openai` rewriter: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp server,
together.ai, ...) through the official `openai` SDK (extra ``lensbench[openai]``), via
`lensbench.clients.openai_chat.ChatClient`.

Options (identity = what changes rewrites): ``model`` (required), ``base_url`` (default https://api.openai.com/v1;
``/chat/completions`` is appended), ``api_key_env`` (NAME of the environment variable that holds the key, ending
in _API_KEY, _KEY or _TOKEN; default OPENAI_API_KEY; the key itself is read at first request and never
recorded, cached, logged or put in an error), ``temperature`` (0.0; ``none`` leaves it out for models that refuse
it), ``max_tokens`` (1024) sent as ``max_tokens_field`` (``max_tokens`` | ``max_completion_tokens`` for reasoning
models), ``reasoning_effort`` (sent when given), ``seed`` (sent when given), ``system_prompt`` /
``system_prompt_file``, ``extra_body`` (a table merged into the request), ``on_empty`` (original | error),
``allow_insecure_http`` (false: plain http only to loopback hosts).
Transport (not identity): ``timeout`` (60 s per request), ``max_retries`` (3: the SDK retries timeouts,
connection errors, HTTP 408/409/429 and 5xx with exponential backoff, honouring Retry-After), ``workers``
(4 requests in flight over one pooled client).

Example for a reasoning model: ``--rewriter openai --rewriter-option model=o4-mini
--rewriter-option max_tokens_field=max_completion_tokens --rewriter-option temperature=none
--rewriter-option reasoning_effort=low``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from lensbench.errors import UserError
from lensbench.rewriters.cached import (CLEANER_VERSION, CachedRewriter, PromptOptions, clean_reply, sha256_text,
                                        system_prompt_from)
from lensbench.clients.openai_chat import ChatClient, EndpointOptions, Sampling


@dataclass(frozen=True)
class OpenAIOptions(PromptOptions, EndpointOptions):
    model: str = ""
    temperature: float | None = 0.0
    max_tokens: int = 1024
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    reasoning_effort: str | None = None
    seed: int | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    workers: int = 4


class OpenAIChatRewriter(CachedRewriter):
    name = "openai"
    Options = OpenAIOptions

    def __init__(self, options: dict[str, Any] | None = None, *, trust_remote_code: bool = False):
        super().__init__(options, trust_remote_code=trust_remote_code)
        o: OpenAIOptions = self.opts
        if not o.model:
            raise UserError("the openai rewriter needs a model: pass --rewriter-option model=NAME "
                            "(and base_url=URL for a non-OpenAI endpoint)")
        if o.max_tokens < 1 or o.workers < 1:
            raise UserError("rewriter options max_tokens and workers must be at least 1")
        if o.temperature is not None and o.temperature < 0:
            raise UserError(f"rewriter option temperature must be at least 0 (or none), got {o.temperature:g}")
        self.client = ChatClient(o, what="the rewriter endpoint")
        self.model, self.base_url, self.api_key_env = o.model, self.client.base_url, self.client.api_key_env
        self.sampling = Sampling(model=o.model, temperature=o.temperature, max_tokens=o.max_tokens,
                                 max_tokens_field=o.max_tokens_field, reasoning_effort=o.reasoning_effort, seed=o.seed)
        self.system_prompt = system_prompt_from(o)

    @property
    def requests_sent(self) -> int:
        return self.client.requests_sent

    @property
    def url(self) -> str:
        return self.client.url

    def settings(self) -> dict[str, Any]:
        o: OpenAIOptions = self.opts
        s: dict[str, Any] = {"base_url": self.base_url, "model": self.model, "api_key_env": self.api_key_env,
                             "temperature": o.temperature, "max_tokens": o.max_tokens, "seed": o.seed,
                             "system_prompt_sha256": sha256_text(self.system_prompt), "extra_body": dict(o.extra_body),
                             "on_empty": o.on_empty, "cleaner": CLEANER_VERSION}
        # added later: recorded only when set, so earlier identities (and their caches) stay valid
        for key, default in (("max_tokens_field", "max_tokens"), ("reasoning_effort", None),
                             ("allow_insecure_http", False)):
            if getattr(o, key) != default:
                s[key] = getattr(o, key)
        return s

    def _rewrite_uncached(self, prompts: list[str]) -> list[str]:
        workers = self.opts.workers
        if workers == 1 or len(prompts) == 1:
            return [self._one(p) for p in prompts]
        with ThreadPoolExecutor(max_workers=min(workers, len(prompts))) as pool:
            return list(pool.map(self._one, prompts))

    def _one(self, prompt: str) -> str:
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": prompt}]
        text = clean_reply(self.client.complete(self.sampling, messages, self.opts.extra_body))
        return text or self._empty(prompt, f"model {self.model} at {self.base_url}")


def make_rewriter(options: dict[str, Any] | None = None) -> OpenAIChatRewriter:
    return OpenAIChatRewriter(options)
