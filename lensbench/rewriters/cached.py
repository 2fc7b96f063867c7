"""A rewriter base with an on-disk cache of rewrites keyed by (rewriter identity, prompt), and the shared text
helpers (default system prompt, reply cleaning).

Cache layout: ``<cache_dir>/<sha256(identity)[:16]>/<h[:2]>/<h>.json`` with ``h = sha256(prompt)``; each file is
``{"identity", "prompt", "rewritten", "created"}`` and is written atomically, so a killed run never leaves half an
entry and a resumed or repeated run (another ablation cell, another run directory) reuses every rewrite. Sampling
rewriters (temperature > 0) therefore give each prompt ONE rewrite that all cells share. The default cache
directory is ``${LENSBENCH_CACHE:-~/.cache/lensbench}/rewrites``; option ``cache_dir`` moves it, ``cache=false``
turns it off. Neither is part of the identity, nor is anything about how a backend is reached (timeouts, retries).

Options are typed dataclasses (lensbench.options): `CacheOptions` (cache, cache_dir, on_empty) and
`PromptOptions` (+ system_prompt, system_prompt_file) are the shared bases each rewriter's `Options` extends.
Every rewrite is scrubbed of registered secrets (lensbench.redact) before it is cached or returned.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lensbench.errors import UserError
from lensbench.redact import scrub_secrets
from lensbench.rewriters import Rewriter
from lensbench.store.atomic import write_json_atomic
from lensbench.util.files import cache_root as lensbench_cache_root

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


@dataclass(frozen=True)
class CacheOptions:
    """Options every cached rewriter has. ``cache`` and ``cache_dir`` never change a rewrite (not identity)."""

    cache: bool = True
    cache_dir: str | None = None
    on_empty: Literal["original", "error"] = "original"


@dataclass(frozen=True)
class PromptOptions(CacheOptions):
    """+ the instruction an LLM rewriter is given."""

    system_prompt: str | None = None
    system_prompt_file: str | None = None


def system_prompt_from(opts: PromptOptions) -> str:
    """Option ``system_prompt`` (text) or ``system_prompt_file`` (path), else lensbench's default."""
    if opts.system_prompt_file:
        p = Path(opts.system_prompt_file).expanduser()
        try:
            return p.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise UserError(f"rewriter system_prompt_file {p} cannot be read ({why}); fix the path") from None
    return opts.system_prompt or DEFAULT_SYSTEM_PROMPT


def cache_root(opts: CacheOptions) -> Path:
    if opts.cache_dir:
        return Path(opts.cache_dir).expanduser()
    return lensbench_cache_root() / "rewrites"


class CachedRewriter(Rewriter):
    """Subclasses set `name`, implement `settings()` (what changes rewrites; never secrets) and `_rewrite_uncached`."""

    name = "cached"
    Options: type = CacheOptions

    def __init__(self, options: dict[str, Any] | None = None, *, trust_remote_code: bool = False):
        super().__init__(options, trust_remote_code=trust_remote_code)
        self.use_cache = self.opts.cache
        self.cache_dir = cache_root(self.opts)
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
            new = [scrub_secrets(s) if isinstance(s, str) else s for s in self._rewrite_uncached(missing)]
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
        if self.opts.on_empty == "error":
            raise UserError(f"rewriter {self.name} returned an empty rewrite for {prompt[:60]!r} ({where}); "
                            "raise max_tokens or pass on_empty=original")
        return prompt
