"""Text-rendering suites scored by OCR: the project's own "text" / "text-en" / "text-zh" suites, and (in
`lensbench.suites.text_official`) loaders for the official LongText-Bench and CVTG-2K prompt files.

Every item carries the same metadata shape, which the "text" scorer reads::

    {"targets": ["OPEN 24/7", ...],   # one string per text region, exactly as it should appear
     "language": "en" | "zh",          # selects the tokenisation / LongText mode
     "n_regions": 1..5,
     "source": "lensbench" | "longtext" | "cvtg",
     "official": {...}}                # original fields of an official file (prompt_id, area, ...), if any

The project's prompts live **inside the package** (``lensbench/suites/data/text/text_{en,zh}.jsonl``) so they
are found from a source checkout and from an installed wheel alike (the README.md beside them describes them).
One JSON object per line: ``{"id", "language", "category", "prompt", "targets": [...]}``; every target string
appears verbatim in the prompt. Suite options: ``language`` (en | zh | all), ``categories`` (comma list),
``path`` (your own JSONL file in the same schema instead of the bundled one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.suites.base import PromptItem, Suite
from lensbench.util.files import iter_jsonl

DATA_DIR = Path(__file__).resolve().parent / "data" / "text"
DATA_FILES = {"en": DATA_DIR / "text_en.jsonl", "zh": DATA_DIR / "text_zh.jsonl"}
CATEGORIES = ("sign", "poster", "book_cover", "ui_screen", "product_label", "handwriting", "multi_region",
              "long_passage")
LANGUAGES = ("en", "zh")
TEXT_OPTIONS = ("language", "categories", "path")


def text_metadata(targets: list[str], language: str, source: str, official: Mapping[str, Any] | None = None,
                  **extra: Any) -> dict[str, Any]:
    """The metadata shape shared by every text-rendering item (see module docstring)."""
    meta = {"targets": list(targets), "language": language, "n_regions": len(targets), "source": source}
    if official:
        meta["official"] = dict(official)
    meta.update(extra)
    return meta


def check_options(options: Mapping[str, Any], known: Iterable[str], suite: str) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UserError(f"suite {suite!r} has no option(s) {unknown}; its options: {', '.join(known)}")


def parse_language(value: Any, suite: str, *, allow_all: bool = True) -> str:
    lang = str(value or "all").lower()
    allowed = LANGUAGES + (("all",) if allow_all else ())
    if lang not in allowed:
        raise UserError(f"suite {suite!r}: language={value!r} must be one of {', '.join(allowed)}")
    return lang


class TextSuiteBase(Suite):
    """Common behaviour of the OCR-scored suites: scorer "text", and finding images another tool wrote."""

    default_scorer = "text"

    def image_candidates(self, item: PromptItem, index: int) -> list[str]:
        """Relative paths where image `index` of `item` may be (first: lensbench's own layout)."""
        return [self.image_relpath(item, index)]

    def discover_images(self, run_dir: str | Path, max_images: int = 64) -> list[dict[str, Any]]:
        """Pseudo generation records for the images that exist under `run_dir` (for folders made elsewhere)."""
        run_dir = Path(run_dir)
        records = []
        for item in self.items():
            for index in range(max_images):
                found = next((c for c in self.image_candidates(item, index) if (run_dir / c).is_file()), None)
                if found is None:
                    break
                records.append({"key": f"{self.name}/{item.id}/{index}", "item_id": item.id, "index": index,
                                "image": found, "status": "ok", "prompt": item.prompt})
        return records


class TextSuite(TextSuiteBase):
    """The project's own text-rendering prompts (English and Chinese sets)."""

    name = "text"
    version = "1"
    default_images_per_prompt = 1


def load_text_items(path: Path, *, language: str | None = None, strict_categories: bool = True) -> list[PromptItem]:
    """Read and validate a text-suite JSONL file (schema in the module docstring)."""
    if not path.is_file():
        raise UserError(f"text suite file {path} does not exist; pass an existing JSONL file with -S path=FILE")
    items = []
    for lineno, obj in iter_jsonl(path):
        items.append(_item_from_obj(obj, f"{path}:{lineno}", language, strict_categories))
    if not items:
        raise UserError(f"text suite file {path} has no prompts")
    return items


def _item_from_obj(obj: Any, where: str, language: str | None, strict_categories: bool) -> PromptItem:
    if not isinstance(obj, dict):
        raise UserError(f"{where}: each line must be a JSON object")
    for key in ("id", "prompt", "category"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise UserError(f'{where}: needs a non-empty "{key}" string')
    lang = obj.get("language", language)
    if lang not in LANGUAGES:
        raise UserError(f'{where}: "language" must be one of {", ".join(LANGUAGES)}, got {lang!r}')
    targets = obj.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t.strip() for t in targets):
        raise UserError(f'{where}: "targets" must be a non-empty list of non-empty strings')
    missing = [t for t in targets if t not in obj["prompt"]]
    if missing:
        raise UserError(f"{where}: target(s) {missing} do not appear verbatim in the prompt")
    if strict_categories and obj["category"] not in CATEGORIES:
        raise UserError(f'{where}: category {obj["category"]!r} is not one of {", ".join(CATEGORIES)}')
    extra = {k: v for k, v in obj.items() if k not in ("id", "prompt", "category", "language", "targets")}
    return PromptItem(id=obj["id"], prompt=obj["prompt"], category=obj["category"],
                      metadata=text_metadata(targets, lang, "lensbench", **extra))


def _make_text_suite(name: str, fixed_language: str | None, options: dict[str, Any]) -> TextSuite:
    check_options(options, TEXT_OPTIONS, name)
    language = parse_language(options.get("language", fixed_language or "all"), name)
    if fixed_language and language != fixed_language:
        raise UserError(f"suite {name!r} is the {fixed_language} set; use suite 'text' with -S language={language}")
    if options.get("path"):
        path = Path(str(options["path"])).expanduser()
        items = load_text_items(path, strict_categories=False)
        source = str(path)
    else:
        langs = LANGUAGES if language == "all" else (language,)
        items = [it for lang in langs for it in load_text_items(DATA_FILES[lang], language=lang)]
        source = "lensbench:" + ",".join(f"suites/data/text/{DATA_FILES[lang].name}" for lang in langs)
    if language != "all":
        items = [it for it in items if it.metadata["language"] == language]
    if options.get("categories"):
        wanted = [c.strip() for c in str(options["categories"]).split(",") if c.strip()]
        known = sorted({it.category for it in items})
        bad = [c for c in wanted if c not in known]
        if bad:
            raise UserError(f"suite {name!r}: unknown categories {bad}; known: {', '.join(known)}")
        items = [it for it in items if it.category in wanted]
    if not items:
        raise UserError(f"suite {name!r} has no prompts for these options {options}; relax the filters")
    suite = TextSuite(items, source=source, options=options)
    suite.name = name
    return suite


def text_suite(source: str | None, options: dict[str, Any]) -> TextSuite:
    return _make_text_suite("text", None, dict(options))


def text_en_suite(source: str | None, options: dict[str, Any]) -> TextSuite:
    return _make_text_suite("text-en", "en", dict(options))


def text_zh_suite(source: str | None, options: dict[str, Any]) -> TextSuite:
    return _make_text_suite("text-zh", "zh", dict(options))
