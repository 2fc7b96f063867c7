"""Reading and type-checking the user's TOML/JSON files: config files, ablation grids, baseline files.

One mechanism for every file kind:

- `read_table(path, kind)` reads a file and returns its top-level table, or raises one `UserError` line for
  every way a file can be wrong: missing, a directory, not text (binary / not UTF-8), malformed TOML/JSON,
  or a top level that is not a table (a JSON list, a number).
- `check_fields(cls, data, where=...)` checks each value of ``data`` against the annotation of the dataclass
  field of the same name, strictly (a file has real types: ``batch_size = "2"`` and ``batch_size = 2.5``
  are refused, not coerced) and names the key, the expected type and the file. Unknown keys are refused with
  the known ones listed.
- `check_value(annotation, value)` is the single-value check both use (and baseline loaders can call).

Strict rather than the coercing `lensbench.options.parse_options`: ``-O key=value`` strings need coercion,
a typed file does not, and accepting ``"2"`` for an integer hides a mistake in a file someone else wrote.
The human type names come from `lensbench.options.type_name`, so messages read the same everywhere.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Union

from lensbench.errors import UserError
from lensbench.options import type_name


def read_text_file(path: str | Path, kind: str, remedy: str = "") -> str:
    """The UTF-8 text of a user file, or a one-line UserError (missing, directory, unreadable, binary)."""
    p = Path(path)
    tail = f"; {remedy}" if remedy else ""
    if not p.exists():
        raise UserError(f"{kind} {p} does not exist{tail}")
    if p.is_dir():
        raise UserError(f"{kind} {p} is a directory, not a file{tail}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise UserError(f"{kind} {p} is unreadable ({exc.strerror}){tail}") from None
    if b"\x00" in data:
        raise UserError(f"{kind} {p} is a binary file, not text{tail}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{kind} {p} is not UTF-8 text (byte {exc.start}){tail}") from None


def read_table(path: str | Path, kind: str, *, fmt: str | None = None, remedy: str = "") -> dict[str, Any]:
    """Parse a TOML (default for other suffixes: by `fmt` or the suffix) or JSON file whose top level is a table."""
    p = Path(path)
    text = read_text_file(p, kind, remedy)
    fmt = fmt or ("json" if p.suffix.lower() == ".json" else "toml")
    tail = f"; {remedy}" if remedy else ""
    try:
        data = json.loads(text) if fmt == "json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{kind} {p} is malformed: {exc}{tail}") from None
    if not isinstance(data, dict):
        raise UserError(f"{kind} {p} must hold a table of key = value pairs at the top level, not a "
                        f"{_json_type(data)}{tail}")
    return data


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Mapping):
        return "table"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__ if not isinstance(value, str) else "string"


def check_value(annotation: Any, value: Any) -> bool:
    """Does `value` (as TOML/JSON gives it) have the type `annotation` describes? No coercion."""
    if annotation is Any:
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return value in args
    if origin in (Union, types.UnionType):
        return any(value is None if a is type(None) else check_value(a, value) for a in args)
    if annotation is type(None):
        return value is None
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return all(check_value(args[0], v) for v in value)
        if origin is tuple and args:
            return len(args) == len(value) and all(check_value(a, v) for a, v in zip(args, value))
        return all(check_value(args[0], v) for v in value) if args else True
    if origin in (dict, Mapping) or annotation in (dict, Mapping):
        if not isinstance(value, Mapping):
            return False
        if len(args) == 2:
            return all(check_value(args[0], k) and check_value(args[1], v) for k, v in value.items())
        return True
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if annotation is str:
        return isinstance(value, str)
    return isinstance(annotation, type) and isinstance(value, annotation)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


@functools.lru_cache(maxsize=64)  # resolving string annotations costs more than the check itself
def field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def check_fields(cls: type, data: Mapping[str, Any], *, where: str, skip: Iterable[str] = ()) -> None:
    """Refuse unknown keys and values whose type differs from the dataclass field's annotation."""
    types_ = field_types(cls)
    unknown = sorted(set(data) - set(types_) - set(skip))
    if unknown:
        s = "s" if len(unknown) > 1 else ""
        raise UserError(f"{where}: unknown key{s} {unknown}; known keys: {', '.join(sorted(types_))}")
    for key, value in data.items():
        if key in types_ and not check_value(types_[key], value):
            raise UserError(f"{where}: {key} = {_show(value)} has the wrong type ({_json_type(value)}); "
                            f"expected {type_name(types_[key])}")


def check_typed(key: str, value: Any, annotation: Any, *, where: str) -> Any:
    """Check one value (e.g. a baseline field) against `annotation`; return it, or raise naming key and file."""
    if not check_value(annotation, value):
        raise UserError(f"{where}: {key} = {_show(value)} has the wrong type ({_json_type(value)}); "
                        f"expected {type_name(annotation)}")
    return value


__all__ = ["read_text_file", "read_table", "check_value", "check_fields", "check_typed", "field_types"]
