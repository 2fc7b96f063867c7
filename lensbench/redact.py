"""Scrub secrets out of text before it is printed, logged or written.

A client that reads an API key from the environment registers the key's value here
(`register_secret`); every piece of text that came from a remote endpoint goes through `scrub` before it
reaches an error message, a log line, a record, a cache entry or a coordination file. `scrub` replaces every
registered value and, whatever was registered, ``Authorization: ...`` header values and ``Bearer <token>``
strings. The registry lives in this process only; nothing about a secret is ever stored.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_MIN_SECRET = 6  # shorter values would mask ordinary words; no real API key is that short

_lock = threading.Lock()
_secrets: set[str] = set()

_AUTH_HEADER = re.compile(r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\s\"',;}]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{4,}")
_API_KEY_HEADER = re.compile(r"(?i)(\b(?:x-)?api-key\b[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+")


def register_secret(value: str | None) -> None:
    """Remember `value` (an API key read from the environment) so that `scrub` masks it from now on."""
    if value and len(value.strip()) >= _MIN_SECRET:
        with _lock:
            _secrets.add(value.strip())


def scrub_secrets(text: object, extra: tuple[str, ...] | list[str] = ()) -> str:
    """`text` with every registered secret (and `extra`) replaced by ``***``; nothing else changes (for model
    output such as a rewritten prompt, which may legitimately say "authorization")."""
    out = str(text)
    with _lock:
        values = sorted(_secrets | {e for e in extra if e and len(e) >= _MIN_SECRET}, key=len, reverse=True)
    for value in values:
        out = out.replace(value, MASK)
    return out


def scrub(text: object, extra: tuple[str, ...] | list[str] = ()) -> str:
    """`scrub_secrets`, and also Authorization/api-key header values and bearer tokens replaced by ``***``
    (for error bodies, log lines and anything else that may quote a request)."""
    out = scrub_secrets(text, extra)
    out = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, out)
    out = _BEARER.sub(lambda m: m.group(1) + " " + MASK, out)
    out = _API_KEY_HEADER.sub(lambda m: m.group(1) + MASK, out)
    return out


__all__ = ["MASK", "register_secret", "scrub", "scrub_secrets"]
