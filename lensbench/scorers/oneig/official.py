"""OneIG-Bench official constants and the official grid split (pure; PIL only).

Source: OneIG-Bench/OneIG-Benchmark @ 41b49831e79e6dde5323618c164da1c4cf0f699d (2026-02-10), read for facts:
``scripts/utils/utils.py`` (``split_mxn_grid``, ``is_black_image``), ``scripts/utils/inference.py`` (prompts),
``scripts/{alignment,text,reasoning,style,diversity}/*_score.py``, ``run_*.sh``, ``text2image.py`` and the README.

Grid split (official): ``image_grid="C,R"`` gives ``grid_size=(C, R)``; tile width = W // C, tile height = H // R;
tiles are cut row by row (row-major: TL, TR, BL, BR for 2x2); a tile whose pixels are *all* exactly (0, 0, 0)
is dropped (text2image.py fills images a model failed to make with black); the kept tiles are saved as JPEG
(PIL default quality 75) into a cache folder and the models read those JPEG files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

UPSTREAM_REPO = "OneIG-Bench/OneIG-Benchmark"
UPSTREAM_COMMIT = "41b49831e79e6dde5323618c164da1c4cf0f699d"
OFFICIAL_SOURCE = f"{UPSTREAM_REPO} scripts/*/*_score.py @ {UPSTREAM_COMMIT[:7]}"

DIMENSIONS = ("alignment", "text", "reasoning", "style", "diversity")

#: CSV category -> official folder (``class_item``) name (text2image.py ``class_item``)
CATEGORY_FOLDER = {
    "Anime_Stylization": "anime",
    "Portrait": "human",
    "General_Object": "object",
    "Text_Rendering": "text",
    "Knowledge_Reasoning": "reasoning",
    "Multilingualism": "multilingualism",
}
FOLDERS = tuple(CATEGORY_FOLDER.values())

#: which folders each dimension reads (run_overall.sh class_items; README "Metrics and Image Sets" table:
#: ZH alignment and diversity add L = multilingualism; style reads anime prompts that have a style only)
DIMENSION_FOLDERS = {
    "en": {"alignment": ("anime", "human", "object"), "text": ("text",), "reasoning": ("reasoning",),
           "style": ("anime",), "diversity": ("anime", "human", "object", "text", "reasoning")},
    "zh": {"alignment": ("anime", "human", "object", "multilingualism"), "text": ("text",),
           "reasoning": ("reasoning",), "style": ("anime",),
           "diversity": ("anime", "human", "object", "text", "reasoning", "multilingualism")},
}

#: text_score.py: MAX_EDIT_DISTANCE = 100 (EN) / 50 (ZH); OCR max_new_tokens 256 when the ground-truth
#: string has more than 60 whitespace-separated words, else 128
MAX_EDIT_DISTANCE = {"en": 100, "zh": 50}
LONG_TEXT_WORDS = 60
OCR_TOKENS_LONG, OCR_TOKENS_SHORT = 256, 128

#: inference.py prompts (verbatim text constants)
VQA_SUFFIX = ". Please answer 'Yes' or 'No' only."
OCR_PROMPT = ("Recognize the text in the image, only reply with the text content, "
              "but avoid repeating previously mentioned content. "
              "If no text is recognized, please reply with 'No text recognized'.")
YES = "Yes"  # alignment_score.py: float(ans == "Yes")

#: style_score.py style_list (its order is the column order of the per-style table)
STYLE_LIST = ("abstract_expressionism", "art_nouveau", "baroque", "chinese_ink_painting", "cubism", "fauvism",
              "impressionism", "line_art", "minimalism", "pointillism", "pop_art", "rococo", "ukiyo-e", "clay",
              "crayon", "graffiti", "lego", "comic", "pencil_sketch", "stone_sculpture", "watercolor", "celluloid",
              "chibi", "cyberpunk", "ghibli", "impasto", "pixar", "pixel_art", "3d_rendering")

#: official models (inference.py, README)
QWEN_VL = "Qwen/Qwen2.5-VL-7B-Instruct"
LLM2CLIP_MODEL = "microsoft/LLM2CLIP-Openai-L-14-336"
LLM2CLIP_LLM = "microsoft/LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned"
LLM2CLIP_PROCESSOR = "openai/clip-vit-large-patch14-336"
STYLE_ENCODER = "xingpng/OneIG-StyleEncoder"
CSD_CHECKPOINT = "CSD ViT-L checkpoint.pth (Google Drive 1FX0xs8p-C7Ob-h5Y4cUhTeOepHzXv_46) + OpenAI ViT-L-14.pt"
DREAMSIM = "dreamsim ensemble v0.2.0 (dreamsim(pretrained=True))"

GRID = (2, 2)  # image_grid "2,2" = 4 images per prompt (README)
JPEG_QUALITY = 75  # PIL's default for Image.save(*.jpg)


def style_key(raw: str | None) -> str | None:
    """style_score.py: ``str(class)``; "nan" (no style) -> skipped; else lower case, spaces -> ``_``."""
    s = "nan" if raw is None or raw == "" else str(raw)
    if s[:3] == "nan":
        return None
    return s.lower().replace(" ", "_")


def is_black(tile) -> bool:
    """utils.is_black_image: every pixel equals the tuple (0, 0, 0). Only an RGB tile can be black (an RGBA
    or L tile's pixels are never equal to that 3-tuple)."""
    if tile.mode != "RGB":
        return False
    return tile.getbbox() is None  # RGB: bbox of non-zero pixels is None iff every channel of every pixel is 0


def tile_boxes(width: int, height: int, grid: tuple[int, int] = GRID) -> list[tuple[int, int, int, int]]:
    """The official crop boxes, row-major; ``grid = (columns, rows)`` as parsed from ``image_grid="C,R"``."""
    cols, rows = grid
    tw, th = width // cols, height // rows
    return [(j * tw, i * th, (j + 1) * tw, (i + 1) * th) for i in range(rows) for j in range(cols)]


def split_grid(grid_image, grid: tuple[int, int] = GRID) -> tuple[list, list[int]]:
    """(kept tiles, their slot indices) as split_mxn_grid: black tiles dropped, order kept."""
    kept, slots = [], []
    for n, box in enumerate(tile_boxes(*grid_image.size, grid)):
        tile = grid_image.crop(box)
        if not is_black(tile):
            kept.append(tile)
            slots.append(n)
    return kept, slots


def jpeg_roundtrip(tile, quality: int = JPEG_QUALITY):
    """What the models see officially: the tile saved as ``{i}.jpg`` (PIL defaults) and opened again."""
    from PIL import Image

    buf = io.BytesIO()
    tile.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return im.convert("RGB")


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
