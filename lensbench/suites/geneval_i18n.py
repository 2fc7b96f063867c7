"""Multilingual GenEval: render each official metadata record as a prompt in zh, fr, ja or es.

The translations are lensbench's own, hand-written data files in ``lensbench/suites/data/geneval_i18n/<lang>.json``
(one per language; ``en.json`` re-creates the official English templates and is used to check this renderer: it
reproduces all 553 official prompts exactly). Only the prompt text changes: the record (tag, include/exclude
clauses, the English "prompt" field) stays as it is, so the same GenEval scorer judges every language.

A language file holds:

- ``templates``: one per GenEval tag, with ``{A}``/``{B}`` noun phrases and ``{rel}`` (benchmarks.md section 1.2:
  single_object "a photo of a/an {obj}", two_object "... {A} and {B}", counting "... {N} {plural}", colors
  "... a/an {color} {obj}", position "... {A} {rel} {B}" where A is clause 1 (it carries the position) and B clause
  0, color_attr "... {cA} {A} and {cB} {B}");
- ``phrases``: how a noun phrase is built: ``one`` (count 1), ``one_color`` (count 1 with a colour), ``many``
  (count > 1). Fields: ``{sg}``/``{pl}`` and any other field of the object entry (``{mw}`` measure word in zh,
  ``{ctr}`` counter in ja), ``{art}`` = ``articles[gender]`` (fr, es), ``{num}`` = ``numbers[count]``, ``{one}`` =
  ``numbers["1"]``, ``{color}``;
- ``objects`` (all 80 GenEval classes), ``colors`` (the 10 colours; a string, or forms keyed by agreement
  ``m``/``f``/``mpl``/``fpl``; an object's ``agr`` names its form when it differs from its gender ``g``),
  ``relations`` (the 4), ``numbers``, ``rewrites`` (regex substitutions applied last, e.g. French elision
  "de un" -> "d'un", English "a" -> "an" before a vowel letter);
- ``english_kept``: the explicit allow-list of words spelt as in English that the language keeps (with a reason);
  the tests fail on any other English word in a rendered prompt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, MutableMapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.util.files import sha256_file

DATA_DIR = Path(__file__).parent / "data" / "geneval_i18n"
#: translations offered as suite languages ("en" stays the official prompt string)
LANGUAGES: tuple[str, ...] = ("zh", "fr", "ja", "es")
TAGS = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
RELATIONS = ("left of", "right of", "above", "below")
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white")
#: which include clause plays A and B in each tag's template (position: clause 1 is placed relative to clause 0)
ROLES: dict[str, tuple[int, ...]] = {"single_object": (0,), "two_object": (0, 1), "counting": (0,), "colors": (0,),
                                     "position": (1, 0), "color_attr": (0, 1)}
_REQUIRED = ("language", "version", "phrases", "templates", "relations", "colors", "objects", "numbers", "rewrites",
             "english_kept")


def language_path(language: str) -> Path:
    return DATA_DIR / f"{language}.json"


def available_languages() -> list[str]:
    return sorted(p.stem for p in DATA_DIR.glob("*.json"))


@lru_cache(maxsize=None)
def load_language(language: str) -> dict[str, Any]:
    """The validated translation table of `language` (cached)."""
    path = language_path(language)
    if not path.is_file():
        known = ", ".join(["en", *LANGUAGES])
        raise UserError(f"no GenEval translation for language {language!r}; use -S language=<{known}>")
    data = json.loads(path.read_text(encoding="utf-8"))
    _validate(data, path)
    data["_sha256"] = sha256_file(path)
    data["_rewrites"] = [(re.compile(pat), repl) for pat, repl in data["rewrites"]]
    return data


def _validate(data: dict[str, Any], path: Path) -> None:
    from lensbench.suites.geneval_objects import GENEVAL_CLASSES

    def bad(msg: str) -> UserError:
        return UserError(f"translation file {path} is invalid: {msg}; restore it from the lensbench package")

    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise bad(f"missing keys {missing}")
    for name, keys in (("templates", TAGS), ("relations", RELATIONS), ("colors", COLORS), ("objects", GENEVAL_CLASSES),
                       ("phrases", ("one", "one_color", "many"))):
        absent = [k for k in keys if k not in data[name]]
        if absent:
            raise bad(f"{name} lacks {absent}")
    for tag, need in (("position", ("{A}", "{B}", "{rel}")), ("two_object", ("{A}", "{B}")), ("single_object", ("{A}",))):
        if not all(n in data["templates"][tag] for n in need):
            raise bad(f"template {tag!r} must contain {', '.join(need)}")
    for cls, obj in data["objects"].items():
        if not isinstance(obj, dict) or not obj.get("sg"):
            raise bad(f"object {cls!r} needs a non-empty 'sg'")


def translation_info(language: str) -> dict[str, Any]:
    """What a manifest should record about the translation used (file version and checksum)."""
    data = load_language(language)
    return {"language": language, "name": data.get("name"), "version": data["version"], "sha256": data["_sha256"]}


def _color(data: Mapping[str, Any], color: str, obj: Mapping[str, Any], where: str) -> str:
    forms = data["colors"].get(color)
    if forms is None:
        raise UserError(f"{where}: colour {color!r} is not one of GenEval's 10 colours; use the official metadata")
    if isinstance(forms, str):
        return forms
    key = obj.get("agr") or obj.get("g")
    if key not in forms:
        raise UserError(f"{where}: no {key!r} form of colour {color!r} in the {data['language']} table")
    return forms[key]


def noun_phrase(data: Mapping[str, Any], clause: Mapping[str, Any], where: str = "record") -> str:
    """One include clause ({class, count, color?}) as a noun phrase of the language."""
    cls, count = clause["class"], int(clause["count"])
    obj = data["objects"].get(cls)
    if obj is None:
        raise UserError(f"{where}: object {cls!r} is not one of GenEval's 80 classes; use the official metadata")
    numbers = data["numbers"]
    if count < 1 or (count > 1 and str(count) not in numbers):
        raise UserError(f"{where}: count {count} has no {data['language']} number word (known: {', '.join(numbers)})")
    fields = {**obj, "num": numbers.get(str(count), ""), "one": numbers.get("1", ""),
              "art": (data.get("articles") or {}).get(obj.get("g"), ""), "color": ""}
    if count > 1:
        if clause.get("color"):
            raise UserError(f"{where}: coloured counts are not a GenEval template")
        return data["phrases"]["many"].format_map(fields)
    if clause.get("color"):
        fields["color"] = _color(data, clause["color"], obj, where)
        return data["phrases"]["one_color"].format_map(fields)
    return data["phrases"]["one"].format_map(fields)


def render(record: Mapping[str, Any], language: str) -> str:
    """The prompt of one GenEval metadata record in `language` (the record itself is not modified)."""
    data = load_language(language)
    tag = record.get("tag")
    where = f"GenEval record {record.get('prompt')!r}"
    if tag not in ROLES:
        raise UserError(f"{where}: unknown tag {tag!r}; known: {', '.join(TAGS)}")
    include = record.get("include") or []
    roles = ROLES[tag]
    if len(include) != len(roles):
        raise UserError(f"{where}: tag {tag!r} expects {len(roles)} include clause(s), got {len(include)}")
    values = {"A": noun_phrase(data, include[roles[0]], where)}
    if len(roles) > 1:
        values["B"] = noun_phrase(data, include[roles[1]], where)
    if tag == "position":
        pos = include[1].get("position")
        if not pos or pos[0] not in data["relations"] or pos[1] != 0:
            raise UserError(f"{where}: position {pos!r} is not one of {', '.join(RELATIONS)} relative to clause 0")
        values["rel"] = data["relations"][pos[0]]
    text = data["templates"][tag].format_map(values)
    for pattern, repl in data["_rewrites"]:
        text = pattern.sub(repl, text)
    return text


def register_renderers(table: MutableMapping[str, Callable[[Mapping[str, Any]], str]]) -> None:
    """Add the translated languages to the GenEval suite's PROMPT_RENDERERS (existing entries win)."""
    for language in LANGUAGES:
        table.setdefault(language, partial(render, language=language))
