"""One options protocol for every pluggable part (scorers, their backends, rewriters, suites).

A part declares its options as a frozen dataclass whose fields carry type annotations and defaults::

    @dataclass(frozen=True)
    class TinyDetectorOptions:
        labels: tuple[str, ...] = ()
        min_score: float = 0.3
        device: str = "cpu"

`parse_options(TinyDetectorOptions, {"min_score": "0.5"}, owner="detector tiny")` coerces each value by its
annotation (``-O key=value`` always arrives as a string; TOML/JSON may give real types), rejects unknown keys
with "did you mean" and the valid keys, and reports a wrongly typed value naming the option and its type.
`settings_dict(obj)` is the canonical JSON-safe settings dict that goes into results and fingerprints.
When one ``-O`` namespace feeds several parts (a scorer and its backends), `split_options` routes each key to
every part that declares it and refuses keys that none declares.

Hand-written rather than pydantic: the project does not depend on pydantic, the coercion rules are a dozen
lines, and the error text has to be the project's one-line ``error:`` contract.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar, Union

from lensbench.errors import UserError

T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})
_NONE = frozenset({"none", "null", ""})


def _hints(cls: type) -> dict[str, Any]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not an options dataclass")
    return typing.get_type_hints(cls)


def option_names(cls: type) -> list[str]:
    """The declared option keys, in declaration order."""
    return [f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]


def type_name(annotation: Any) -> str:
    """A short human name for an annotation: ``int``, ``float or none``, ``one of a, b``, ``list of str``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (Union, types.UnionType):
        parts = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or none" if type(None) in args else "")
    if origin in (tuple, list, frozenset, set):
        inner = args[0] if args else str
        return f"comma-separated list of {type_name(inner)}"
    if origin in (dict, Mapping):
        return "mapping"
    if annotation is bool:
        return "bool (true or false)"
    if annotation is int:
        return "int (an integer)"
    return getattr(annotation, "__name__", str(annotation))


class _BadValue(Exception):
    pass


def _coerce(value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and str(choice) == value.strip()):
                return choice
        raise _BadValue
    if origin in (Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value.strip().lower() in _NONE)):
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg)
            except _BadValue:
                continue
        raise _BadValue
    if origin in (tuple, list, frozenset, set):
        inner = args[0] if args else str
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = list(value)
        else:
            raise _BadValue
        coerced = [_coerce(v, inner) for v in items]
        return tuple(coerced) if origin is not frozenset else frozenset(coerced)
    if origin in (dict, Mapping) or annotation in (dict, Mapping):
        if isinstance(value, Mapping):
            return dict(value)
        raise _BadValue
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _BadValue
    if annotation is int:
        if isinstance(value, bool):
            raise _BadValue
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise _BadValue from None
        raise _BadValue
    if annotation is float:
        if isinstance(value, bool):
            raise _BadValue
        if isinstance(value, (int, float)):
            out = float(value)
        elif isinstance(value, str):
            try:
                out = float(value.strip())
            except ValueError:
                raise _BadValue from None
        else:
            raise _BadValue
        if not math.isfinite(out):
            raise _BadValue
        return out
    if annotation is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _BadValue
    if isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise _BadValue


def coerce_value(cls: type, key: str, value: Any, *, owner: str) -> Any:
    """Coerce one value for option `key` of `cls`; a UserError names the option, its type and the value."""
    annotation = _hints(cls)[key]
    try:
        return _coerce(value, annotation)
    except _BadValue:
        raise UserError(f"option {key}={value!r} of {owner}: expected {type_name(annotation)}; "
                        f"valid options: {', '.join(option_names(cls))}") from None


def unknown_keys_error(unknown: Iterable[str], valid: Iterable[str], *, owner: str) -> UserError:
    unknown, valid = sorted(unknown), sorted(set(valid))
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        if close:  # one unknown key: "(did you mean 'model'?)"; several: "('modle': did you mean 'model'?)"
            hints.append(f"did you mean {close[0]!r}?" if len(unknown) == 1 else f"{key!r}: did you mean {close[0]!r}?")
    s = "s" if len(unknown) > 1 else ""
    return UserError(f"unknown option{s} {', '.join(repr(k) for k in unknown)} for {owner}"
                     f"{' (' + '; '.join(hints) + ')' if hints else ''}; valid options: {', '.join(valid) or 'none'}")


def parse_options(cls: type[T], raw: Mapping[str, Any] | None, *, owner: str) -> T:
    """Build `cls` from raw ``key -> value`` (strings or typed values); refuse unknown keys and bad types."""
    raw = dict(raw or {})
    names = option_names(cls)
    unknown = set(raw) - set(names)
    if unknown:
        raise unknown_keys_error(unknown, names, owner=owner)
    values = {k: coerce_value(cls, k, v, owner=owner) for k, v in raw.items()}
    return cls(**values)


def split_options(raw: Mapping[str, Any] | None, parts: Mapping[str, type], *, owner: str) -> dict[str, Any]:
    """Route one options namespace to several parts: each key goes to every part that declares it.

    Returns ``{part name: parsed dataclass}``. A key that no part declares is refused with all valid keys.
    """
    raw = dict(raw or {})
    declared = {name: set(option_names(cls)) for name, cls in parts.items()}
    valid = set().union(*declared.values()) if declared else set()
    unknown = set(raw) - valid
    if unknown:
        raise unknown_keys_error(unknown, valid, owner=owner)
    return {name: parse_options(cls, {k: v for k, v in raw.items() if k in declared[name]}, owner=owner)
            for name, cls in parts.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return settings_dict(value)
    return value


def settings_dict(obj: Any) -> dict[str, Any]:
    """The canonical settings of an options object: every declared option, JSON-safe, keys sorted."""
    return {k: _jsonable(getattr(obj, k)) for k in sorted(option_names(type(obj)))}


def changed_settings(obj: Any) -> dict[str, Any]:
    """Only the options that differ from their defaults (for short labels and file names)."""
    default = type(obj)()
    full, base = settings_dict(obj), settings_dict(default)
    return {k: v for k, v in full.items() if base.get(k) != v}


__all__ = ["option_names", "type_name", "coerce_value", "parse_options", "split_options", "settings_dict",
           "changed_settings", "unknown_keys_error"]
