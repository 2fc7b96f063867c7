"""Small built-in suites for smoke tests and the demo (prompts authored by the project)."""

from __future__ import annotations

from typing import Any

from lensbench.suites.base import PromptItem, Suite

_DEMO_PROMPTS = [
    ("red-cube", "a photo of a red cube on a wooden table", "colors"),
    ("two-cats", "a photo of two cats sleeping on a sofa", "counting"),
    ("dog-left-of-bike", "a photo of a dog left of a bicycle", "position"),
    ("neon-sign", 'a neon sign that says "OPEN LATE" above a diner door', "text"),
    ("lighthouse", "a watercolor painting of a lighthouse at dusk", "style"),
    ("green-apple-blue-cup", "a photo of a green apple and a blue cup", "color_attr"),
]


class BuiltinSuite(Suite):
    version = "1"
    default_images_per_prompt = 1


def _make(name: str, prompts, options: dict[str, Any]) -> Suite:
    suite = BuiltinSuite([PromptItem(id=i, prompt=p, category=c) for i, p, c in prompts], source="builtin", options=options)
    suite.name = name
    return suite


def demo_suite(source: str | None, options: dict[str, Any]) -> Suite:
    return _make("demo", _DEMO_PROMPTS, options)


def smoke_suite(source: str | None, options: dict[str, Any]) -> Suite:
    return _make("smoke", _DEMO_PROMPTS[:2], options)
