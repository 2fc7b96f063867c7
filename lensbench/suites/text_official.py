"""Official text-rendering prompt files, loaded from a path you give (their files are never bundled).

**LongText-Bench** (X-Omni; HF dataset ``X-Omni/LongText-Bench``, also ``textbench/`` in github.com/X-Omni-Team/X-Omni):
``text_prompts.jsonl`` (English) and ``text_prompts_zh.jsonl`` (Chinese), one object per line with ``prompt_id``
(int), ``prompt`` and ``text`` (list of the strings to render; a plain string is accepted too). Other fields
(e.g. a category) are kept. The official protocol samples **4 images per prompt** and names them
``{prompt_id}_{repeat}.png`` (repeat 1..4) in one folder per language; lensbench writes exactly that under
``images/longtext/<language>/`` so the official script can read the folder too. Options: ``path`` (a file or
the folder holding both files), ``language`` (en | zh | all).

**CVTG-2K** (TextCrafter; HF dataset ``dnkdnk/CVTG-2K``, ``CVTG-2K.zip``): folders ``CVTG/`` and ``CVTG-Style/``
(``CVTG-style`` in the README) with ``2.json … 5.json`` = ``{"data_list": [{"index", "prompt", "carrier_list",
"sentence_list"}, ...]}`` (the ``*_combined.json`` files are not used by the official evaluation). Targets are
the single-quoted spans of the prompt, the official rule. One image per prompt at ``<subset>/<area>/<index>.png``
(lensbench: under ``images/cvtg/``), the layout of the official ``unified_metrics_eval.py``. Options: ``path``
(the folder holding CVTG/ and CVTG-Style/), ``subsets`` (comma list), ``areas`` (comma list of 2..5).

No checksum of either dataset could be established offline, so lensbench does not download them: a missing
``path`` is a UserError that says where to get the files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.suites.base import PromptItem, _safe
from lensbench.suites.text import TextSuiteBase, check_options, parse_language, text_metadata
from lensbench.util.files import iter_jsonl

LONGTEXT_FILES = {"en": "text_prompts.jsonl", "zh": "text_prompts_zh.jsonl"}
LONGTEXT_URL = "https://huggingface.co/datasets/X-Omni/LongText-Bench"
CVTG_URL = "https://huggingface.co/datasets/dnkdnk/CVTG-2K"
CVTG_SUBSETS = ("CVTG", "CVTG-Style")
CVTG_AREAS = (2, 3, 4, 5)
_CVTG_QUOTED = re.compile(r"'(.*?)'")


def cvtg_extract_targets(prompt: str) -> list[str]:
    """CVTG-2K's target texts: the single-quoted spans of the prompt, in order (the official rule)."""
    return _CVTG_QUOTED.findall(prompt)


# -- LongText-Bench --------------------------------------------------------------------------------
class LongTextSuite(TextSuiteBase):
    name = "longtext"
    version = "1"
    default_images_per_prompt = 4  # X-Omni README: "we uniformly sample each prompt four times"

    def image_relpath(self, item: PromptItem, index: int) -> str:
        lang = item.metadata["language"]
        return f"images/longtext/{lang}/{int(item.metadata['official']['prompt_id']):04d}_{index + 1}.png"

    def image_candidates(self, item: PromptItem, index: int) -> list[str]:
        pid = int(item.metadata["official"]["prompt_id"])
        lang = item.metadata["language"]
        flat = [f"{pid:04d}_{index + 1}.png", f"{pid}_{index + 1}.png"]
        if index == 0:
            flat += [f"{pid:04d}.png", f"{pid}.png"]
        langs = {it.metadata["language"] for it in self.items()}
        # a flat official folder holds one language only; it is ambiguous when both are loaded
        flat = flat + [f"{lang}/{f}" for f in flat] if len(langs) == 1 else [f"{lang}/{f}" for f in flat]
        return [self.image_relpath(item, index)] + flat


def _longtext_files(path: Path, language: str) -> dict[str, Path]:
    if path.is_file():
        lang = "zh" if "_zh" in path.stem else "en"
        if language not in ("all", lang):
            raise UserError(f"{path} looks like the {lang} LongText-Bench file but language={language}; fix one of them")
        return {lang: path}
    langs = ("en", "zh") if language == "all" else (language,)
    files = {lang: path / LONGTEXT_FILES[lang] for lang in langs}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise UserError(f"LongText-Bench file(s) {missing} not found; download {', '.join(LONGTEXT_FILES.values())} "
                        f"from {LONGTEXT_URL} and pass their folder with -S path=DIR (or -S language=en|zh)")
    return files


def load_longtext_items(path: Path, language: str) -> list[PromptItem]:
    items = []
    for lang, file in _longtext_files(path, language).items():
        for lineno, obj in iter_jsonl(file, f"use the LongText-Bench files from {LONGTEXT_URL}"):
            try:
                pid = int(obj["prompt_id"])
                prompt = str(obj["prompt"])
                text = obj["text"]
            except (KeyError, TypeError, ValueError) as exc:
                raise UserError(f"{file}:{lineno}: not a LongText-Bench line (needs prompt_id, prompt, text): "
                                f"{exc}") from None
            targets = [text] if isinstance(text, str) else [str(t) for t in text]
            official = {k: v for k, v in obj.items() if k not in ("prompt", "text")}
            category = str(obj.get("category") or "longtext")
            items.append(PromptItem(id=f"{lang}-{pid:04d}", prompt=prompt, category=category,
                                    metadata=text_metadata(targets, lang, "longtext", official)))
    return items


def longtext_suite(source: str | None, options: dict[str, Any]) -> LongTextSuite:
    options = dict(options)
    check_options(options, ("path", "language"), "longtext")
    language = parse_language(options.get("language"), "longtext")
    if not options.get("path"):
        raise UserError(f"suite 'longtext' needs the official prompt files: download {LONGTEXT_FILES['en']} and "
                        f"{LONGTEXT_FILES['zh']} from {LONGTEXT_URL} and pass -S path=DIR")
    path = Path(str(options["path"])).expanduser()
    if not path.exists():
        raise UserError(f"LongText-Bench path {path} does not exist; pass the folder holding {LONGTEXT_FILES['en']}")
    items = load_longtext_items(path, language)
    if not items:
        raise UserError(f"no LongText-Bench prompts found under {path}")
    return LongTextSuite(items, source=str(path), options=options)


# -- CVTG-2K -----------------------------------------------------------------------------------------
class CvtgSuite(TextSuiteBase):
    name = "cvtg"
    version = "1"
    default_images_per_prompt = 1  # the official layout holds one image per prompt

    def image_relpath(self, item: PromptItem, index: int) -> str:
        return "images/cvtg/" + self._official_relpath(item, index)

    @staticmethod
    def _official_relpath(item: PromptItem, index: int) -> str:
        off = item.metadata["official"]
        stem = str(off["index"]) if index == 0 else f"{off['index']}_{index}"
        return f"{_safe(off['subset'])}/{off['area']}/{stem}.png"

    def image_candidates(self, item: PromptItem, index: int) -> list[str]:
        rel = self._official_relpath(item, index)
        return [self.image_relpath(item, index), rel, rel.replace("CVTG-Style/", "CVTG-style/", 1)]


def _subset_dir(root: Path, subset: str) -> Path | None:
    for child in root.iterdir() if root.is_dir() else ():
        if child.is_dir() and child.name.lower() == subset.lower():
            return child
    return None


def _int_list(value: Any, name: str, allowed: tuple[int, ...]) -> list[int]:
    try:
        out = [int(x) for x in str(value).split(",") if x.strip()]
    except ValueError:
        raise UserError(f"suite 'cvtg': {name}={value!r} must be a comma list of {allowed}") from None
    if not out or any(x not in allowed for x in out):
        raise UserError(f"suite 'cvtg': {name}={value!r} must be a comma list of {allowed}")
    return out


def load_cvtg_items(root: Path, subsets: list[str], areas: list[int]) -> list[PromptItem]:
    if (root / "CVTG-2K").is_dir() and _subset_dir(root, "CVTG") is None:
        root = root / "CVTG-2K"
    items = []
    for subset in subsets:
        folder = _subset_dir(root, subset)
        if folder is None:
            raise UserError(f"CVTG-2K folder {root} has no {subset}/ subfolder; unzip CVTG-2K.zip from {CVTG_URL} "
                            "and pass the folder holding CVTG/ and CVTG-Style/ with -S path=DIR")
        for area in areas:
            file = folder / f"{area}.json"
            try:
                data = json.loads(file.read_text(encoding="utf-8"))["data_list"]
            except FileNotFoundError:
                raise UserError(f"CVTG-2K file {file} is missing; re-extract CVTG-2K.zip from {CVTG_URL}") from None
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise UserError(f"{file} is not a CVTG-2K file (needs data_list): {exc}") from None
            for row in data:
                prompt = str(row["prompt"])
                official = {"subset": subset, "area": area, "index": row["index"],
                            "carrier_list": row.get("carrier_list"), "sentence_list": row.get("sentence_list")}
                items.append(PromptItem(id=f"{subset.lower()}-{area}-{row['index']}", prompt=prompt,
                                        category=subset.lower(),
                                        metadata=text_metadata(cvtg_extract_targets(prompt), "en", "cvtg", official)))
    return items


def cvtg_suite(source: str | None, options: dict[str, Any]) -> CvtgSuite:
    options = dict(options)
    check_options(options, ("path", "subsets", "areas"), "cvtg")
    if not options.get("path"):
        raise UserError(f"suite 'cvtg' needs the official data: download CVTG-2K.zip from {CVTG_URL}, unzip it and "
                        "pass -S path=DIR (the folder holding CVTG/ and CVTG-Style/)")
    root = Path(str(options["path"])).expanduser()
    if not root.is_dir():
        raise UserError(f"CVTG-2K path {root} is not a folder; pass the folder holding CVTG/ and CVTG-Style/")
    wanted = [s.strip() for s in str(options.get("subsets", ",".join(CVTG_SUBSETS))).split(",") if s.strip()]
    canon = {s.lower(): s for s in CVTG_SUBSETS}
    bad = [s for s in wanted if s.lower() not in canon]
    if bad or not wanted:
        raise UserError(f"suite 'cvtg': subsets {bad or wanted} unknown; use {', '.join(CVTG_SUBSETS)}")
    areas = _int_list(options.get("areas", "2,3,4,5"), "areas", CVTG_AREAS)
    items = load_cvtg_items(root, [canon[s.lower()] for s in wanted], areas)
    return CvtgSuite(items, source=str(root), options=options)
