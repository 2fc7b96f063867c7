"""One OpenAI-compatible chat-completions client for everything lensbench sends to an LLM/VLM endpoint
(the `openai` rewriter today; any VLM judge later): the official `openai` SDK (retries with exponential backoff
and Retry-After, timeouts, one pooled connection set shared by all threads, typed errors), wrapped with the
project's rules:

- The key is read from the environment variable named by ``api_key_env`` at first use, never from an option,
  and that name must look like an API-key variable (``*_API_KEY``, ``*_KEY``, ``*_TOKEN``), so a shared grid or
  config file cannot point ``api_key_env`` at another secret (``HOME``, ``AWS_SECRET_ACCESS_KEY`` is still a key
  name, but ``DATABASE_URL`` is not).
- Plain ``http://`` is refused for anything but a loopback host unless ``allow_insecure_http=true`` (recorded
  in the identity); redirects are never followed, so credentials never go to another origin.
- Every text that came back is scrubbed before it can reach a message, a record, a cache or a coordination
  file: a reply of the key's value (`lensbench.redact.scrub_secrets`), an error body also of Authorization
  headers and bearer tokens (`lensbench.redact.scrub`).

Reasoning models: ``max_tokens_field = max_completion_tokens`` sends the limit under the name those models
accept, ``temperature = none`` leaves temperature out, and ``reasoning_effort`` is sent when given; nothing is
decided from the model's name.

A VLM judge builds its messages with `image_part` and calls `ChatClient.complete`.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from lensbench.errors import UserError, require_module
from lensbench.redact import register_secret, scrub, scrub_secrets

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
#: statuses the SDK retries (408, 409, 429 and 5xx); used only to word the final message
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
KEY_ENV_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(_API_KEY|_KEY|_TOKEN)$", re.IGNORECASE)
_NO_KEY = "no-key"  # the SDK insists on a key; a keyless local server ignores this placeholder


@dataclass(frozen=True)
class EndpointOptions:
    """How an OpenAI-compatible endpoint is reached (none of this changes what the model answers, except
    that ``base_url`` picks the server)."""

    base_url: str = DEFAULT_BASE_URL
    api_key_env: str = DEFAULT_KEY_ENV
    allow_insecure_http: bool = False
    timeout: float = 60.0
    max_retries: int = 3


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, allow_insecure_http: bool, what: str = "base_url") -> str:
    """The normalised URL, or a UserError for a bad scheme or plain http to a non-loopback host."""
    url = str(url).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{what} must be an http:// or https:// URL with a host, got {url!r}")
    if parts.username or parts.password:
        raise UserError(f"{what} must not carry credentials in the URL; put the key in the environment variable "
                        "named by api_key_env")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure_http:
        raise UserError(f"{what} {url} is plain http to a non-loopback host, which would send the API key "
                        "unencrypted; use https://, or pass allow_insecure_http=true if the network is trusted")
    return url


def check_key_env(name: str) -> str:
    name = str(name).strip()
    if not KEY_ENV_PATTERN.match(name):
        raise UserError(f"api_key_env={name!r} does not look like an API-key variable; name a variable ending in "
                        "_API_KEY, _KEY or _TOKEN (e.g. OPENAI_API_KEY) that holds only the key")
    return name


def image_part(png: bytes, mime: str = "image/png") -> dict[str, Any]:
    """A chat message content part carrying an image inline (for VLM judges)."""
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{base64.b64encode(png).decode('ascii')}"}}


@dataclass(frozen=True)
class Sampling:
    """What the request asks the model for (part of a caller's identity)."""

    model: str
    temperature: float | None = 0.0
    max_tokens: int = 1024
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    reasoning_effort: str | None = None
    seed: int | None = None


class ChatClient:
    """A thread-safe chat-completions client for one endpoint; `complete` returns the reply's text."""

    def __init__(self, endpoint: EndpointOptions, *, what: str = "the endpoint"):
        self.endpoint = endpoint
        self.base_url = check_base_url(endpoint.base_url, allow_insecure_http=endpoint.allow_insecure_http)
        self.api_key_env = check_key_env(endpoint.api_key_env)
        if endpoint.timeout <= 0:
            raise UserError(f"timeout must be positive, got {endpoint.timeout:g}")
        if endpoint.max_retries < 0:
            raise UserError(f"max_retries must be 0 or more, got {endpoint.max_retries}")
        self.what = what
        self.requests_sent = 0  # HTTP attempts, retries included
        self._lock = threading.Lock()
        self._client = None
        self._key: str | None = None

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _count(self, request: Any) -> None:
        with self._lock:
            self.requests_sent += 1

    def sdk(self):
        """The `openai.OpenAI` client, built once (connection pool shared by all threads)."""
        with self._lock:
            if self._client is None:
                openai = require_module("openai", "the OpenAI-compatible client", "pip install 'lensbench[openai]'")
                self._key = os.environ.get(self.api_key_env) or None
                register_secret(self._key)
                http = openai.DefaultHttpxClient(follow_redirects=False, event_hooks={"request": [self._count]})
                self._client = openai.OpenAI(api_key=self._key or _NO_KEY, base_url=self.base_url,
                                             timeout=self.endpoint.timeout, max_retries=self.endpoint.max_retries,
                                             http_client=http)
            return self._client

    def request_kwargs(self, sampling: Sampling, messages: list[dict[str, Any]],
                       extra_body: dict[str, Any] | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": sampling.model, "messages": messages,
                                  sampling.max_tokens_field: sampling.max_tokens}
        if sampling.temperature is not None:
            kwargs["temperature"] = sampling.temperature
        if sampling.reasoning_effort is not None:
            kwargs["reasoning_effort"] = sampling.reasoning_effort
        if sampling.seed is not None:
            kwargs["seed"] = sampling.seed
        if extra_body:
            kwargs["extra_body"] = dict(extra_body)
        return kwargs

    def complete(self, sampling: Sampling, messages: list[dict[str, Any]],
                 extra_body: dict[str, Any] | None = None) -> str:
        """The scrubbed text of ``choices[0].message.content`` ('' when the model sent none)."""
        client = self.sdk()
        try:
            raw = client.chat.completions.with_raw_response.create(**self.request_kwargs(sampling, messages, extra_body))
            body = raw.content
        except Exception as exc:  # noqa: BLE001 - every failure becomes one scrubbed line
            raise self._error(exc, sampling.model) from None
        return scrub_secrets(content_of(parse_json(body, self.url), self.url), self._secrets())

    def _secrets(self) -> tuple[str, ...]:
        return (self._key,) if self._key else ()

    def _error(self, exc: Exception, model: str) -> UserError:
        openai = require_module("openai", "the OpenAI-compatible client", "pip install 'lensbench[openai]'")
        attempts = self.endpoint.max_retries + 1
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            detail = self._detail(exc)
            if 300 <= code < 400:
                where = urlsplit(str(exc.response.headers.get("location", ""))).netloc or "another URL"
                return UserError(f"{self.url} redirected (HTTP {code} to {scrub(where)}); lensbench never follows "
                                 "redirects with credentials: set base_url to the final endpoint")
            if code in (401, 403):
                return UserError(f"{self.url} refused the request (HTTP {code}: {detail}); put a valid key in the "
                                 f"environment variable {self.api_key_env}")
            if code in RETRYABLE_STATUS:
                return UserError(f"{self.what} {self.url} failed {attempts} time(s) (last: HTTP {code}: {detail}); "
                                 "check that it is healthy, or raise the option max_retries")
            return UserError(f"{self.url} answered HTTP {code} ({detail}); check base_url and model {model!r}")
        if isinstance(exc, openai.APITimeoutError):
            last = "timed out"
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            last = f"{type(cause).__name__}: {cause}"
        else:
            last = f"{type(exc).__name__}: {exc}"
        return UserError(f"{self.what} {self.url} failed {attempts} time(s) (last: {scrub(last, self._secrets())}); "
                         "check that it is reachable, or raise the options timeout / max_retries")

    def _detail(self, exc: Any) -> str:
        try:
            text = exc.response.text
        except Exception:  # noqa: BLE001 - the body is only decoration for the message
            text = ""
        text = " ".join(str(text).split())[:200] or str(getattr(exc, "message", "")) or "no body"
        return scrub(text, self._secrets())


def parse_json(raw: bytes, url: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        head = scrub(" ".join(raw[:80].decode("utf-8", "replace").split()))
        raise UserError(f"{url} returned a malformed reply (not JSON: {head!r}); point base_url at an "
                        "OpenAI-compatible /v1 endpoint") from None


def content_of(reply: Any, url: str) -> str:
    """choices[0].message.content of a chat-completions reply, or a clear error."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        if isinstance(reply, dict) and "error" in reply:
            raise UserError(f"{url} returned an error: {scrub(str(reply['error'])[:200])}; check model and "
                            "options") from None
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


__all__ = ["EndpointOptions", "Sampling", "ChatClient", "check_base_url", "check_key_env", "image_part",
           "is_loopback", "DEFAULT_BASE_URL", "DEFAULT_KEY_ENV"]
