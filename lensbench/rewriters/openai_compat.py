"""`openai` rewriter: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp server,
together.ai, ...) through the standard library's urllib; no client package needed.

Options (identity = what changes rewrites): ``model`` (required), ``base_url`` (default https://api.openai.com/v1;
``/chat/completions`` is appended), ``api_key_env`` (NAME of the environment variable that holds the key; default
OPENAI_API_KEY; the key itself is read at request time and never recorded, cached, logged or put in an error),
``temperature`` (0.0), ``max_tokens`` (1024), ``seed`` (sent when given), ``system_prompt`` /
``system_prompt_file``, ``extra_body`` (a table merged into the request), ``on_empty`` (original | error).
Transport (not identity): ``timeout`` (60 s per request), ``max_retries`` (3: retries after timeouts, connection
errors, HTTP 429 and 5xx, with exponential backoff ``backoff`` x 2^attempt capped at ``max_backoff``; a
Retry-After header is honoured up to the cap), ``workers`` (4 requests in flight).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import lensbench
from lensbench.errors import UserError
from lensbench.rewriters.cached import CLEANER_VERSION, CachedRewriter, clean_reply, sha256_text, system_prompt_from

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def _number(options: dict[str, Any], key: str, default: float, *, minimum: float = 0.0) -> float:
    try:
        value = float(options.get(key, default))
    except (TypeError, ValueError):
        raise UserError(f"rewriter option {key} must be a number, got {options.get(key)!r}") from None
    if value < minimum:
        raise UserError(f"rewriter option {key} must be at least {minimum:g}, got {value:g}")
    return value


class OpenAIChatRewriter(CachedRewriter):
    name = "openai"
    KNOWN_OPTIONS = frozenset({"model", "base_url", "api_key_env", "temperature", "max_tokens", "seed", "system_prompt",
                               "system_prompt_file", "extra_body", "on_empty"})

    def __init__(self, options: dict[str, Any] | None = None, *, sleep=time.sleep):
        super().__init__(options)
        o = self.options
        if not o.get("model"):
            raise UserError("the openai rewriter needs a model: pass --rewriter-option model=NAME "
                            "(and base_url=URL for a non-OpenAI endpoint)")
        self.model = str(o["model"])
        self.base_url = str(o.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise UserError(f"rewriter base_url must start with http:// or https://, got {self.base_url!r}")
        self.api_key_env = str(o.get("api_key_env") or DEFAULT_KEY_ENV)
        self.temperature = _number(o, "temperature", 0.0)
        self.max_tokens = int(_number(o, "max_tokens", 1024, minimum=1))
        self.seed = None if o.get("seed") is None else int(o["seed"])
        self.system_prompt = system_prompt_from(o)
        self.extra_body = dict(o.get("extra_body") or {})
        self.timeout = _number(o, "timeout", 60.0, minimum=0.001)
        self.max_retries = int(_number(o, "max_retries", 3))
        self.backoff = _number(o, "backoff", 1.0)
        self.max_backoff = _number(o, "max_backoff", 30.0)
        self.workers = max(1, int(_number(o, "workers", 4, minimum=1)))
        self._sleep = sleep
        self.requests_sent = 0  # HTTP attempts, including retries

    def settings(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model, "api_key_env": self.api_key_env,
                "temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed,
                "system_prompt_sha256": sha256_text(self.system_prompt), "extra_body": self.extra_body,
                "on_empty": str(self.options.get("on_empty", "original")), "cleaner": CLEANER_VERSION}

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _rewrite_uncached(self, prompts: list[str]) -> list[str]:
        if self.workers == 1 or len(prompts) == 1:
            return [self._one(p) for p in prompts]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(prompts))) as pool:
            return list(pool.map(self._one, prompts))

    def _one(self, prompt: str) -> str:
        body: dict[str, Any] = {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens,
                                "messages": [{"role": "system", "content": self.system_prompt},
                                             {"role": "user", "content": prompt}]}
        if self.seed is not None:
            body["seed"] = self.seed
        body.update(self.extra_body)
        reply = self._post(body)
        text = clean_reply(_content(reply, self.url))
        return text or self._empty(prompt, f"model {self.model} at {self.base_url}")

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": f"lensbench/{lensbench.__version__}"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(self, body: dict[str, Any]) -> Any:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        last = "no attempt"
        for attempt in range(self.max_retries + 1):  # bounded: at most max_retries + 1 requests
            wait = min(self.max_backoff, self.backoff * (2 ** attempt))
            try:
                self.requests_sent += 1
                req = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (user-chosen endpoint)
                    raw = resp.read()
                return _parse_json(raw, self.url)
            except urllib.error.HTTPError as exc:
                detail = _snippet(exc)
                if exc.code in (401, 403):
                    raise UserError(f"{self.url} refused the request (HTTP {exc.code}: {detail}); put a valid key in "
                                    f"the environment variable {self.api_key_env}") from None
                if exc.code not in RETRYABLE_STATUS:
                    raise UserError(f"{self.url} answered HTTP {exc.code} ({detail}); check base_url and model "
                                    f"{self.model!r}") from None
                last = f"HTTP {exc.code}"
                wait = _retry_after(exc, wait, self.max_backoff)
            except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                last = "timed out" if isinstance(reason, (TimeoutError, socket.timeout)) else f"{type(reason).__name__}: {reason}"
            if attempt < self.max_retries:
                self._sleep(wait)
        raise UserError(f"the rewriter endpoint {self.url} failed {self.max_retries + 1} time(s) (last: {last}); "
                        "check that it is reachable, or raise --rewriter-option timeout / max_retries")


def _snippet(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the body is only decoration for the message
        text = ""
    return " ".join(text.split())[:200] or (exc.reason or "no body")


def _retry_after(exc: urllib.error.HTTPError, default: float, cap: float) -> float:
    value = (exc.headers or {}).get("Retry-After") if exc.headers is not None else None
    try:
        return min(cap, max(0.0, float(value))) if value is not None else default
    except ValueError:
        return default


def _parse_json(raw: bytes, url: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        head = " ".join(raw[:80].decode("utf-8", "replace").split())
        raise UserError(f"{url} returned a malformed reply (not JSON: {head!r}); point base_url at an "
                        "OpenAI-compatible /v1 endpoint") from None


def _content(reply: Any, url: str) -> str:
    """choices[0].message.content of a chat-completions reply, or a clear error."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        if isinstance(reply, dict) and "error" in reply:
            raise UserError(f"{url} returned an error: {str(reply['error'])[:200]}; check model and options") from None
        raise UserError(f"{url} returned a malformed reply (no choices[0].message.content); point base_url at an "
                        "OpenAI-compatible /v1 endpoint") from None
    if content is None:
        return ""
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise UserError(f"{url} returned a malformed reply (message content is {type(content).__name__}); "
                        "point base_url at an OpenAI-compatible /v1 endpoint")
    return content


def make_rewriter(options: dict[str, Any] | None = None) -> OpenAIChatRewriter:
    return OpenAIChatRewriter(options)
