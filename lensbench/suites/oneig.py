"""OneIG-Bench suite (EN 1,120 / ZH 1,320 prompts): 4 images per prompt composed into the official 2x2 grid.

Layout in a run directory (``oneig/`` is the official ``images/`` folder: IMAGE_DIR=<run>/oneig,
MODEL_NAMES=(<model folder>) lets the official scripts read a lensbench run as is)::

    oneig/tiles/<folder>/<id>/<n>.png       generated images, n = 0..3 (TL, TR, BL, BR), seeds base + n
    oneig/<folder>/<model>/<id>.<format>    the official 2x2 grid, composed by `finalize_item` (atomic)

``<folder>`` is the official class folder (anime, human, object, text, reasoning, multilingualism),
``<id>`` the 3-digit id of the prompt CSV, ``<model>`` the run's model name (``-S model_dir=`` overrides).

Options (``-S key=value``): ``language`` en|zh; ``categories`` folders or CSV categories (comma list);
``dimensions`` alignment,text,reasoning,style,diversity: only the prompts those dimensions read are generated
(style reads only anime prompts that have a style); ``data`` the official data folder (default: the cache,
downloaded with pinned checksums when missing); ``format`` png (default, lossless) or webp (what the official
text2image.py writes, PIL defaults = lossy); ``model_dir``; ``download`` auto|never.

Order: the prompts are interleaved over the README's image sets (S styled anime, T text, KR reasoning,
L multilingualism, P portrait, O object, A other anime), CSV order within a set, so ``--limit N`` covers every
dimension as early as possible (``--limit 3`` = S, T, KR: all five dimensions). Item id = ``<folder>_<id>``
(the index of the official per-prompt CSVs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.suites import oneig_data
from lensbench.suites.base import PromptItem, Suite

OPTIONS = ("language", "categories", "dimensions", "data", "format", "model_dir", "download")
FORMATS = ("png", "webp")

# kept here (not imported from scorers: suites sit below scorers); the scorer checks they agree
CATEGORY_FOLDER = {"Anime_Stylization": "anime", "Portrait": "human", "General_Object": "object",
                   "Text_Rendering": "text", "Knowledge_Reasoning": "reasoning", "Multilingualism": "multilingualism"}
DIMENSION_FOLDERS = {
    "alignment": ("anime", "human", "object", "multilingualism"), "text": ("text",), "reasoning": ("reasoning",),
    "style": ("anime",), "diversity": ("anime", "human", "object", "text", "reasoning", "multilingualism"),
}
SET_ORDER = ("S", "T", "KR", "L", "P", "O", "A")
_SET_OF_FOLDER = {"text": "T", "reasoning": "KR", "multilingualism": "L", "human": "P", "object": "O"}


def _list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def _folder(name: str) -> str:
    if name in CATEGORY_FOLDER.values():
        return name
    low = {k.lower(): v for k, v in CATEGORY_FOLDER.items()}
    if name.lower() in low:
        return low[name.lower()]
    raise UserError(f"unknown OneIG category {name!r}; use folders {', '.join(CATEGORY_FOLDER.values())} "
                    f"or CSV categories {', '.join(CATEGORY_FOLDER)}")


def image_set(folder: str, styled: bool) -> str:
    return ("S" if styled else "A") if folder == "anime" else _SET_OF_FOLDER[folder]


def load_items(data: Path, language: str, folders: Sequence[str] | None = None,
               dimensions: Sequence[str] | None = None) -> list[PromptItem]:
    rows = oneig_data.read_csv(data / oneig_data.PROMPT_CSV[language])
    styles = oneig_data.style_classes(data)
    col = oneig_data.PROMPT_COLUMN[language]
    by_set: dict[str, list[PromptItem]] = {s: [] for s in SET_ORDER}
    for r in rows:
        try:
            folder = CATEGORY_FOLDER[r["category"]]
            oid, prompt = r["id"], r[col]
        except KeyError as exc:
            raise UserError(f"{data / oneig_data.PROMPT_CSV[language]}: unexpected row ({exc}); restore the official CSV") from None
        style = styles.get(oid, "") if folder == "anime" else ""
        styled = bool(style) and style[:3] != "nan"
        if folders and folder not in folders:
            continue
        if dimensions and not any(folder in DIMENSION_FOLDERS[d] and (d != "style" or styled) for d in dimensions):
            continue
        meta = {"folder": folder, "oneig_id": oid, "csv_category": r["category"], "language": language,
                "class": r.get("class") or "", "style": style if folder == "anime" else "",
                "type": r.get("type") or "", "prompt_length": r.get("prompt_length") or "",
                "image_set": image_set(folder, styled)}
        by_set[meta["image_set"]].append(PromptItem(id=f"{folder}_{oid}", prompt=prompt, metadata=meta, category=folder))
    items, k = [], 0
    while any(k < len(v) for v in by_set.values()):  # round robin over the image sets
        items.extend(by_set[s][k] for s in SET_ORDER if k < len(by_set[s]))
        k += 1
    return items


def model_dirname(run_dir: Path, override: str | None = None) -> str:
    """The official ``<model>`` folder: -S model_dir, else the run's model name (manifest), made path-safe."""
    name = override
    if not name:
        try:
            name = json.loads((Path(run_dir) / "manifest.json").read_text())["model"]["name"]
        except (OSError, ValueError, KeyError, TypeError):
            name = "model"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)).strip("._")
    return safe or "model"


class OneigSuite(Suite):
    name = "oneig"
    version = "1"
    default_images_per_prompt = 4
    max_images_per_prompt = 4  # the official 2x2 grid (image_grid "2,2")
    default_scorer = "oneig"

    @property
    def language(self) -> str:
        return self.options["language"]

    @property
    def data_dir(self) -> Path:
        return Path(self.options["data"])

    def image_relpath(self, item: PromptItem, index: int) -> str:
        return f"oneig/tiles/{item.metadata['folder']}/{item.metadata['oneig_id']}/{index}.png"

    def grid_relpath(self, item: PromptItem, run_dir: Path) -> str:
        model = model_dirname(run_dir, self.options.get("model_dir"))
        return f"oneig/{item.metadata['folder']}/{model}/{item.metadata['oneig_id']}.{self.options.get('format', 'png')}"

    def finalize_item(self, run_dir: Path, item: PromptItem, image_relpaths: Sequence[str]) -> None:
        """Compose the 2x2 grid (row-major, black in empty slots as text2image.py) and write it atomically.
        Tiles may be W x H with W != H: the grid is 2W x 2H, which the official split (W // 2, H // 2) cuts back
        exactly (text2image.py itself swaps W and H for such tiles, a bug not reproduced). Idempotent: an
        existing grid with identical bytes is left alone."""
        import io

        from lensbench.suites.grid import write_grid  # the DPG-Bench 2x2 grid geometry (suite data layout)

        fmt = self.options.get("format", "png")

        def encode(grid) -> bytes:
            buf = io.BytesIO()
            grid.save(buf, format="PNG" if fmt == "png" else "WEBP")  # webp: PIL defaults, as text2image.py
            return buf.getvalue()

        write_grid(run_dir, image_relpaths, Path(run_dir) / self.grid_relpath(item, Path(run_dir)), encode,
                   square=False)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["provenance"] = oneig_data.provenance(self.data_dir)
        return d


def _resolve_data(source: str | None, options: Mapping[str, Any]) -> Path:
    given = options.get("data") or source
    if given:
        p = Path(str(given)).expanduser().resolve()
        if not p.is_dir():
            raise UserError(f"OneIG data folder {p} does not exist; pass -S data=DIR with the official files")
        return p
    default = oneig_data.cache_dir()
    if all((default / n).is_file() for n in oneig_data.FILES):
        return default
    if str(options.get("download", "auto")).lower() == "never":
        raise UserError(f"OneIG data not found in {default} (download=never); pass -S data=DIR or run "
                        "`lensbench fetch oneig` with a network")
    return oneig_data.fetch_oneig_data(default)


def oneig_suite(source: str | None, options: dict[str, Any]) -> OneigSuite:
    """Suite factory (registered as "oneig")."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UserError(f"unknown oneig suite option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    language = str(options.get("language", "en")).strip().lower()
    if language not in ("en", "zh"):
        raise UserError(f"oneig suite option language must be en or zh, got {language!r}")
    fmt = str(options.get("format", "png")).strip().lower()
    if fmt not in FORMATS:
        raise UserError(f"oneig suite option format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    folders = [_folder(c) for c in _list(options.get("categories"))]
    if language == "en" and "multilingualism" in folders:
        raise UserError("the multilingualism set exists only in OneIG-Bench-ZH; use -S language=zh")
    dims = _list(options.get("dimensions"))
    bad = [d for d in dims if d not in DIMENSION_FOLDERS]
    if bad:
        raise UserError(f"unknown OneIG dimension(s) {', '.join(bad)}; known: {', '.join(DIMENSION_FOLDERS)}")
    data = _resolve_data(source, options)
    oneig_data.check_dir(data, [oneig_data.PROMPT_CSV[language], "style.csv"])
    items = load_items(data, language, folders, dims)
    if not items:
        raise UserError("no OneIG prompt matches these categories and dimensions; widen -S categories / -S dimensions")
    recorded: dict[str, Any] = {"language": language, "data": str(data), "format": fmt}
    if folders:
        recorded["categories"] = sorted(set(folders))
    if dims:
        recorded["dimensions"] = sorted(set(dims))
    if options.get("model_dir"):
        recorded["model_dir"] = str(options["model_dir"])
    return OneigSuite(items, source=source, options=recorded)
