"""Prompt rewriters ("reasoners") in front of the model. The generate runner asks the registry for one
by name; `none` is the identity. A rewriter's `identity()` goes into every work-item key, and the rewritten
prompt is recorded next to each image; scoring always judges against the original metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lensbench.registry import Registry


class Rewriter:
    name = "none"

    def __init__(self, options: dict[str, Any] | None = None):
        self.options = dict(options or {})

    def identity(self) -> dict[str, Any]:
        """What makes rewrites differ (backend, model, settings); never secrets."""
        return {"name": self.name}

    def rewrite(self, prompts: Sequence[str]) -> list[str]:
        return list(prompts)


REWRITERS: Registry = Registry("rewriter")
REWRITERS.register("none", Rewriter)
REWRITERS.register("lens", "lensbench.rewriters.lens_reasoner:LensReasonerRewriter", aliases=("lens-reasoner",))
REWRITERS.register("openai", "lensbench.rewriters.openai_compat:OpenAIChatRewriter", aliases=("openai-compatible",))
REWRITERS.register("transformers", "lensbench.rewriters.transformers_llm:TransformersRewriter", aliases=("hf",))


def make_rewriter(name: str, options: dict[str, Any] | None = None) -> Rewriter:
    return REWRITERS.get(name)(options)
