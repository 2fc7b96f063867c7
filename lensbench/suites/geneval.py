"""The GenEval suite: 553 prompts from the official ``evaluation_metadata.jsonl`` in the official image layout.

Source: djghosh13/geneval @ af4902f (MIT, (c) 2023 Dhruba Ghosh), ``prompts/evaluation_metadata.jsonl``
(85,209 bytes, 553 lines; shared/reference/benchmarks.md section 1). The file is never shipped with lensbench:
pass it with ``-S metadata=PATH`` (``--geneval-metadata PATH`` in ``lensbench geneval``), or let lensbench
download it once from the pinned commit into ``${LENSBENCH_CACHE:-~/.cache/lensbench}/data/geneval/``; the
download is checked against the pinned sha256.

Layout (what the official ``evaluate_images.py`` reads)::

    <run>/geneval/<index:05d>/metadata.jsonl      # ONE JSON object: line <index> of the metadata file
    <run>/geneval/<index:05d>/samples/<n:04d>.png

Suite options: ``metadata`` (path), ``language`` (prompt language: "en" (official) or one of lensbench's
translations zh, fr, ja, es rendered from the metadata by `lensbench.suites.geneval_i18n`; see PROMPT_RENDERERS).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.store.atomic import write_bytes_atomic, write_text_atomic
from lensbench.suites.base import PromptItem, Suite
from lensbench.suites.geneval_i18n import register_renderers as register_translations
from lensbench.suites.geneval_i18n import LANGUAGES as TRANSLATIONS
from lensbench.suites.geneval_i18n import translation_info
from lensbench.util.files import cache_root, iter_jsonl, sha256_file

GENEVAL_REPO = "djghosh13/geneval"
GENEVAL_COMMIT = "af4902f24d3ca90ebbb446dd9891a59e0f82725f"  # 2025-03-03
METADATA_URL = f"https://raw.githubusercontent.com/{GENEVAL_REPO}/{GENEVAL_COMMIT}/prompts/evaluation_metadata.jsonl"
METADATA_SHA256 = "5c48e0813e812e3c373fa5c8ed07a8f0a483be30272b4427b0559c8048e67c13"  # of the file at that commit
METADATA_FILENAME = "evaluation_metadata.jsonl"
N_PROMPTS = 553
#: tags in file order (benchmarks.md section 1.2)
TAGS: tuple[str, ...] = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
RELATIONS = ("left of", "right of", "above", "below")
KNOWN_OPTIONS = ("metadata", "language")


def cache_dir() -> Path:
    return cache_root() / "data" / "geneval"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_metadata(dest_dir: Path | None = None, *, url: str = METADATA_URL, timeout: float = 30.0) -> Path:
    """Download the pinned official metadata file into the cache (atomically, sha256-checked) and return its path."""
    import urllib.error
    import urllib.request

    dest = (dest_dir or cache_dir()) / METADATA_FILENAME
    # every command that loads suites takes -S (only `generate` and `geneval` also have --geneval-metadata);
    # `score` re-reads the suite recorded in the run, so copying the file into the cache works for all commands
    hint = (f"pass the official evaluation_metadata.jsonl with -S metadata=PATH, or copy it to {dest} "
            f"(sha256 {METADATA_SHA256[:12]}...)")
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("LENSBENCH_OFFLINE") == "1":
        raise UserError(f"the GenEval metadata is not in the cache and offline mode is on (HF_HUB_OFFLINE / "
                        f"LENSBENCH_OFFLINE); run `lensbench fetch geneval` on a machine with a network, or {hint}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (fixed https URL)
            data = resp.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"could not download the GenEval metadata from {url} ({reason}); {hint}") from None
    if _sha256(data) != METADATA_SHA256:
        raise UserError(f"the GenEval metadata downloaded from {url} has an unexpected sha256 {_sha256(data)}; {hint}")
    write_bytes_atomic(dest, data)
    return dest


def resolve_metadata(path: str | os.PathLike | None) -> Path:
    """The metadata file to use: `path` if given, else the cached official copy (downloaded on first use)."""
    if path:
        p = Path(path).expanduser()
        if p.is_dir():
            raise UserError(f"GenEval metadata file {p} is a directory; pass the official evaluation_metadata.jsonl file")
        if not p.is_file():
            raise UserError(f"GenEval metadata file {p} does not exist; pass the official evaluation_metadata.jsonl")
        return p
    cached = cache_dir() / METADATA_FILENAME
    if cached.is_file() and sha256_file(cached) == METADATA_SHA256:
        return cached
    return download_metadata()


def validate_record(rec: Any, where: str) -> dict[str, Any]:
    """Check one metadata record's shape (benchmarks.md section 1.2); raise a UserError naming `where`."""

    def bad(msg: str) -> UserError:
        return UserError(f"{where}: {msg}; use the official GenEval evaluation_metadata.jsonl")

    if not isinstance(rec, dict):
        raise bad("not a JSON object")
    if not isinstance(rec.get("tag"), str) or not isinstance(rec.get("prompt"), str):
        raise bad('needs string "tag" and "prompt"')
    for key in ("include", "exclude"):
        clauses = rec.get(key, [])
        if not isinstance(clauses, list) or (key == "include" and not clauses):
            raise bad(f'"{key}" must be a {"non-empty " if key == "include" else ""}list of clauses')
        for j, c in enumerate(clauses):
            if not isinstance(c, dict) or not isinstance(c.get("class"), str) or not isinstance(c.get("count"), int):
                raise bad(f'{key} clause {j} needs "class" (string) and "count" (integer)')
            if "color" in c and not isinstance(c["color"], str):
                raise bad(f"{key} clause {j} has a non-string colour")
            if "position" in c:
                pos = c["position"]
                ok = isinstance(pos, list) and len(pos) == 2 and pos[0] in RELATIONS and isinstance(pos[1], int)
                if key != "include" or not ok or not 0 <= pos[1] < j:
                    raise bad(f"{key} clause {j} has an invalid position {pos!r}")
    return rec


def load_metadata(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Parse and validate every record of an evaluation_metadata.jsonl (key order preserved)."""
    p = Path(path)
    records = []
    from lensbench.filecheck import read_text_file  # binary / not UTF-8: one line, not a UnicodeDecodeError

    text = read_text_file(p, "GenEval metadata file", "use the official evaluation_metadata.jsonl")
    for lineno, rec in iter_jsonl(p, "use the official evaluation_metadata.jsonl", text=text):
        records.append(validate_record(rec, f"{p}:{lineno}"))
    if not records:
        raise UserError(f"GenEval metadata file {p} is empty; use the official evaluation_metadata.jsonl")
    return records


# -- language hook -----------------------------------------------------------------------------------------------
#: language code -> function(record) -> prompt text. Scoring always uses the original (English) record.
PROMPT_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {"en": lambda rec: rec["prompt"]}
register_translations(PROMPT_RENDERERS)  # zh, fr, ja, es (lensbench/suites/data/geneval_i18n/*.json)


def render_prompt(record: Mapping[str, Any], language: str = "en") -> str:
    if language not in PROMPT_RENDERERS:
        known = ", ".join(sorted(PROMPT_RENDERERS))
        raise UserError(f"GenEval prompts are not available in language {language!r} yet; use -S language=en (known: {known})")
    return PROMPT_RENDERERS[language](record)


class GenEvalSuite(Suite):
    name = "geneval"
    version = "1"
    default_images_per_prompt = 4  # evaluate_images.py README / reference sampler --n_samples 4
    default_scorer = "geneval"

    def __init__(self, items: Sequence[PromptItem], *, source: str | None = None, options: Mapping[str, Any] | None = None,
                 metadata_sha256: str | None = None):
        super().__init__(items, source=source, options=options)
        self.metadata_sha256 = metadata_sha256

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["metadata_sha256"] = self.metadata_sha256
        d["official_metadata"] = self.metadata_sha256 == METADATA_SHA256
        d["upstream"] = {"repo": GENEVAL_REPO, "commit": GENEVAL_COMMIT}
        if self.options.get("language") in TRANSLATIONS:  # lensbench's own translation files
            d["translation"] = translation_info(self.options["language"])
        return d

    @staticmethod
    def folder(item: PromptItem) -> str:
        return f"{int(item.id):05d}"

    def image_relpath(self, item: PromptItem, index: int) -> str:
        return f"geneval/{self.folder(item)}/samples/{index:04d}.png"

    def metadata_relpath(self, item: PromptItem) -> str:
        return f"geneval/{self.folder(item)}/metadata.jsonl"

    def prepare_item(self, run_dir: Path, item: PromptItem) -> None:
        """Write the item's official record as ONE JSON object (the official scorer reads it with json.load)."""
        path = Path(run_dir) / self.metadata_relpath(item)
        text = json.dumps(dict(item.metadata))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text_atomic(path, text)


def items_from_records(records: Sequence[Mapping[str, Any]], language: str = "en", ids: Sequence[str] | None = None) -> list[PromptItem]:
    ids = list(ids) if ids is not None else [f"{i:05d}" for i in range(len(records))]
    return [
        PromptItem(id=i, prompt=render_prompt(rec, language), metadata=dict(rec), category=rec["tag"])
        for i, rec in zip(ids, records)
    ]


def geneval_suite(source: str | None, options: dict[str, Any]) -> GenEvalSuite:
    """Suite factory: options ``metadata`` (path; falls back to `source`, then the cache/download), ``language``."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(KNOWN_OPTIONS))
    if unknown:
        raise UserError(f"unknown geneval suite option(s) {', '.join(unknown)}; known: {', '.join(KNOWN_OPTIONS)}")
    language = str(options.get("language") or "en")
    if language not in PROMPT_RENDERERS:
        render_prompt({"prompt": ""}, language)  # fail early on an unsupported language (raises UserError)
    path = resolve_metadata(options.get("metadata") or source)
    data = path.read_bytes()
    records = load_metadata(path)
    options["language"] = language
    return GenEvalSuite(items_from_records(records, language), source=str(path.resolve()), options=options,
                        metadata_sha256=_sha256(data))
