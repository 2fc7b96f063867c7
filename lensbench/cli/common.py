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


def default_run_dir(cfg: Any) -> str:
    """``runs/<model>-<suite>[-<language>]`` for a RunConfig whose ``out`` was not given (a suite file counts by
    its stem), so runs of different models or suites never share the default directory."""
    import re
    from pathlib import Path

    suite = str(cfg.suite)
    if suite.endswith((".jsonl", ".json", ".toml")) or "/" in suite:
        suite = Path(suite).stem
    parts = [str(cfg.model), suite]
    language = (cfg.suite_options or {}).get("language")
    if language and language != "en":
        parts.append(str(language))
    name = "-".join(re.sub(r"[^A-Za-z0-9._+-]+", "_", p).strip("._") or "x" for p in parts)
    return str(Path("runs") / name)
