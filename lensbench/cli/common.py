"""Small helpers shared by CLI modules (no heavy imports)."""

from __future__ import annotations

import json
from typing import Any

from lensbench.errors import UserError


def parse_value(text: str) -> Any:
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True, '[1,2]' -> [1, 2], anything else stays a string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_kv(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{flag} takes KEY=VALUE, got {pair!r}")
        out[key.strip()] = parse_value(value)
    return out


def echo_json(obj: Any) -> None:
    import typer

    typer.echo(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str))
