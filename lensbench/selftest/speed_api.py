"""The speed runner's API as the selftest uses it (one place to change if it moves again)."""

from __future__ import annotations

from types import SimpleNamespace


def speed_api() -> SimpleNamespace:
    """`run_speed`, `SpeedConfig`, `DEFAULT_PROMPT` and the raw-samples path `JSONL_PATH` (imported lazily)."""
    from lensbench.speed.output import JSONL_PATH
    from lensbench.speed.run import DEFAULT_PROMPT, SpeedConfig, run_speed

    return SimpleNamespace(run_speed=run_speed, SpeedConfig=SpeedConfig, DEFAULT_PROMPT=DEFAULT_PROMPT,
                           JSONL_PATH=JSONL_PATH)
