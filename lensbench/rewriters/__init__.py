"""Prompt rewriters ("reasoners") in front of the model. The generate runner asks the registry for one
by name; `none` is the identity. A rewriter's `identity()` goes into every work-item key, and the rewritten
prompt is recorded next to each image; scoring always judges against the original metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lensbench.options import parse_options
from lensbench.registry import Registry


@dataclass(frozen=True)
class NoOptions:
    """The identity rewriter takes no options."""


class Rewriter:
    """Base rewriter: `Options` is the typed options dataclass (lensbench.options); `self.opts` holds the parsed
    options, `self.options` the raw mapping they came from. ``trust_remote_code`` is never an option (a grid or
    config file must not turn it on): it is a keyword argument that only the CLI flag / Python API sets."""

    name = "none"
    Options: type = NoOptions

    def __init__(self, options: dict[str, Any] | None = None, *, trust_remote_code: bool = False):
        self.options = dict(options or {})
        self.opts = parse_options(self.Options, self.options, owner=f"rewriter {self.name!r}")
        self.trust_remote_code = bool(trust_remote_code)

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


def make_rewriter(name: str, options: dict[str, Any] | None = None, *, trust_remote_code: bool = False) -> Rewriter:
    """The rewriter `name` with its options parsed; `trust_remote_code` comes only from the CLI flag / API."""
    return REWRITERS.get(name)(options, trust_remote_code=trust_remote_code)
