"""A rewriter base with an on-disk cache of rewrites keyed by (rewriter identity, prompt), and the shared text
helpers (default system prompt, reply cleaning).

Cache layout: ``<cache_dir>/<sha256(identity)[:16]>/<h[:2]>/<h>.json`` with ``h = sha256(prompt)``; each file is
``{"identity", "prompt", "rewritten", "created"}`` and is written atomically, so a killed run never leaves half an
entry and a resumed or repeated run (another ablation cell, another run directory) reuses every rewrite. Sampling
rewriters (temperature > 0) therefore give each prompt ONE rewrite that all cells share. The default cache
directory is ``${LENSBENCH_CACHE:-~/.cache/lensbench}/rewrites``; option ``cache_dir`` moves it, ``cache=false``
turns it off. Neither is part of the identity, nor is anything about how a backend is reached (timeouts, retries).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.rewriters import Rewriter
from lensbench.store.atomic import write_json_atomic

#: lensbench's default instruction for LLM rewriters (own wording; same intent as the Lens reasoner's, models.md 1.8)
DEFAULT_SYSTEM_PROMPT = (
    "You rewrite prompts for a text-to-image model. Reply with ONE prompt that describes a single image. "
    "Keep every object, count, colour, attribute, action and spatial relation that the user asked for; do not add "
    "important new objects and do not change the meaning. You may add concrete visual detail (appearance, material, "
    "lighting, setting) where it makes the scene clearer. Turn simple implied content into what is visible (for "
    "example 'the answer to 2+2 on a blackboard' becomes 'a blackboard showing 2+2=4'). Write in the language of the "
    "user's prompt. Output only the rewritten prompt: no explanation, no alternatives, no lists, no quotation marks, "
    "no markup."
)
CLEANER_VERSION = "1"  # bump when clean_reply changes (it is part of every LLM rewriter's identity)

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FINAL = re.compile(r"<\|channel\|>final<\|message\|>(.*?)(?:<\|return\|>|<\|end\|>|$)", re.DOTALL)
_SPECIAL = re.compile(r"<\|[a-z_]+\|>")


def clean_reply(text: str) -> str:
    """The rewritten prompt inside an LLM reply: drop reasoning blocks (``<think>``, harmony analysis channel),
    special tokens, a surrounding code fence or quotes, and collapse whitespace."""
    finals = _FINAL.findall(text)
    if finals:
        text = finals[-1]
    text = _THINK.sub("", text)
    if "</think>" in text.lower():  # an unterminated reasoning prefix
        text = re.split(r"</think>", text, flags=re.IGNORECASE)[-1]
    text = _SPECIAL.sub(" ", text).strip()
    if text.startswith("```") and text.endswith("```") and text.count("\n") >= 2:
        text = text.split("\n", 1)[1].rsplit("\n", 1)[0]
    text = " ".join(text.split())
    for a, b in (('"', '"'), ("'", "'"), ("\u201c", "\u201d"), ("\u300c", "\u300d")):
        if len(text) >= 2 and text.startswith(a) and text.endswith(b):
            text = text[1:-1].strip()
    return text


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def system_prompt_from(options: dict[str, Any]) -> str:
    """Option ``system_prompt`` (text) or ``system_prompt_file`` (path), else lensbench's default."""
    if options.get("system_prompt_file"):
        p = Path(str(options["system_prompt_file"])).expanduser()
        try:
            return p.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UserError(f"rewriter system_prompt_file {p} cannot be read ({exc.strerror}); fix the path") from None
    return str(options.get("system_prompt") or DEFAULT_SYSTEM_PROMPT)


def as_bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def cache_root(options: dict[str, Any]) -> Path:
    if options.get("cache_dir"):
        return Path(str(options["cache_dir"])).expanduser()
    return Path(os.environ.get("LENSBENCH_CACHE") or "~/.cache/lensbench").expanduser() / "rewrites"


class CachedRewriter(Rewriter):
    """Subclasses set `name`, implement `settings()` (what changes rewrites; never secrets) and `_rewrite_uncached`."""

    name = "cached"
    #: options that can never change a rewrite (kept out of the identity)
    TRANSPORT_OPTIONS = frozenset({"cache", "cache_dir", "timeout", "max_retries", "backoff", "max_backoff", "workers",
                                   "device"})
    KNOWN_OPTIONS: frozenset[str] = frozenset()

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        unknown = sorted(set(self.options) - self.KNOWN_OPTIONS - self.TRANSPORT_OPTIONS)
        if unknown:
            known = ", ".join(sorted(self.KNOWN_OPTIONS | self.TRANSPORT_OPTIONS))
            raise UserError(f"unknown option(s) {', '.join(unknown)} for rewriter {self.name!r}; known: {known}")
        self.use_cache = as_bool(self.options.get("cache"), True)
        self.cache_dir = cache_root(self.options)
        self.backend_calls = 0  # prompts sent to the backend (cache misses)
        self.cache_hits = 0
        self._identity_hash: str | None = None

    # -- identity --------------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, **self.settings()}

    def identity_hash(self) -> str:
        if self._identity_hash is None:
            self._identity_hash = sha256_text(json.dumps(self.identity(), sort_keys=True, ensure_ascii=False, default=str))
        return self._identity_hash

    # -- cache -----------------------------------------------------------------------------------------------------
    def _entry_path(self, prompt: str) -> Path:
        h = sha256_text(prompt)
        return self.cache_dir / self.identity_hash()[:16] / h[:2] / f"{h}.json"

    def cached(self, prompt: str) -> str | None:
        if not self.use_cache:
            return None
        path = self._entry_path(prompt)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # absent or unreadable: rewrite again (the atomic write replaces it)
        if entry.get("prompt") != prompt or not isinstance(entry.get("rewritten"), str) or not entry["rewritten"]:
            return None
        return entry["rewritten"]

    def _store(self, prompt: str, rewritten: str) -> None:
        if self.use_cache:
            write_json_atomic(self._entry_path(prompt), {"identity": self.identity(), "prompt": prompt,
                                                         "rewritten": rewritten,
                                                         "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    # -- rewriting -------------------------------------------------------------------------------------------------
    def rewrite(self, prompts: Sequence[str]) -> list[str]:
        prompts = list(prompts)
        found: dict[str, str] = {}
        missing: list[str] = []
        for p in dict.fromkeys(prompts):  # unique, in order
            hit = self.cached(p)
            if hit is None:
                missing.append(p)
            else:
                found[p] = hit
                self.cache_hits += 1
        if missing:
            new = self._rewrite_uncached(missing)
            if len(new) != len(missing) or not all(isinstance(s, str) and s for s in new):
                raise RuntimeError(f"rewriter {self.name} returned {len(new)} rewrites for {len(missing)} prompts")
            self.backend_calls += len(missing)
            for p, s in zip(missing, new):
                self._store(p, s)
                found[p] = s
        return [found[p] for p in prompts]

    def _rewrite_uncached(self, prompts: list[str]) -> list[str]:
        raise NotImplementedError

    def _empty(self, prompt: str, where: str) -> str:
        """What an empty reply becomes: the original prompt (upstream Lens reasoner behaviour) or an error."""
        if str(self.options.get("on_empty", "original")) == "error":
            raise UserError(f"rewriter {self.name} returned an empty rewrite for {prompt[:60]!r} ({where}); "
                            "raise max_tokens or pass on_empty=original")
        return prompt
