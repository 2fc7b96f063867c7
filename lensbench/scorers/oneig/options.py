"""Options of the OneIG scorer (``-O key=value``; typed by `lensbench.options`). Defaults = the official protocol.

Backends: ``backend`` is a preset (``official`` | ``tiny``); ``vqa``, ``ocr``, ``reasoning_model``,
``style_model``, ``diversity_model`` override one dimension's backend (e.g. ``vqa=openai`` for a VLM judge
behind an OpenAI-compatible endpoint, ``ocr=rapidocr``). Model locations: ``qwen_model``, ``llm2clip_model``,
``llm2clip_llm``, ``llm2clip_processor``, ``llm2vec_module`` (where ``LLM2Vec`` is imported from: PyPI ``llm2vec``
pins transformers<=4.44.2; the official repo vendors a copy at ``scripts.utils.llm2clip.llm2vec``), ``style_encoder``, ``csd_checkpoint``, ``clip_checkpoint``,
``dreamsim_cache``; ``revision`` pins Hub revisions; ``device``, ``dtype``, ``attn_implementation``.
``trust_remote_code`` (LLM2CLIP ships its model code with the weights) must be given explicitly.

Judge (``vqa=openai`` / ``ocr=openai``): ``judge_model``, ``judge_base_url``, ``judge_api_key_env`` (the
NAME of the environment variable holding the key), ``judge_max_tokens``.

Official-logic switches (a non-default value is recorded and makes the run off-protocol): ``answer_match``
(exact = official ``ans == "Yes"`` | normalized), ``cascade`` (false = official: parents' raw scores),
``black_grid`` (stale = official text quirk | skip), ``jpeg_tiles`` (true = official: tiles re-encoded as JPEG
before the models see them), ``grid`` ("2,2" = C,R as the official ``image_grid``), ``fine_missing`` (nan =
official: a fine-grained alignment bucket holding a prompt scored None has no value | skip).

A folder made by another tool in the official layout (``<dir>/<class>/<model>/<id>.<ext>``, no manifest) is
scored with ``data`` (the official data folder), ``language`` and ``model_dir`` (needed when several model
folders exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lensbench.stats import DEFAULT_N_BOOT, DEFAULT_SEED

#: option -> official value; any other value is an off-protocol deviation
OFFICIAL_LOGIC = {"answer_match": "exact", "cascade": False, "black_grid": "stale", "jpeg_tiles": True, "grid": "2,2",
                  "fine_missing": "nan"}


@dataclass(frozen=True)
class OneigOptions:
    backend: Literal["official", "tiny"] = "official"
    vqa: str | None = None
    ocr: str | None = None
    reasoning_model: str | None = None
    style_model: str | None = None
    diversity_model: str | None = None
    dimensions: tuple[str, ...] = ()
    # official-logic switches
    answer_match: Literal["exact", "normalized"] = "exact"
    cascade: bool = False
    black_grid: Literal["stale", "skip"] = "stale"
    jpeg_tiles: bool = True
    grid: str = "2,2"
    fine_missing: Literal["nan", "skip"] = "nan"  # fine-grained alignment bucket with an unscored prompt
    # models
    qwen_model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    llm2clip_model: str = "microsoft/LLM2CLIP-Openai-L-14-336"
    llm2clip_llm: str = "microsoft/LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned"
    llm2clip_processor: str = "openai/clip-vit-large-patch14-336"
    llm2vec_module: str = "llm2vec"  # or scripts.utils.llm2clip.llm2vec with the official repo on PYTHONPATH
    style_encoder: str = "xingpng/OneIG-StyleEncoder"
    csd_checkpoint: str | None = None
    csd_arch: str = "ViT-L-14"  # open_clip architecture of the CSD backbone (QuickGELU forced, as OpenAI CLIP)
    clip_checkpoint: str | None = None  # open_clip `pretrained` for backbone weights the CSD file lacks (e.g. openai)
    dreamsim_cache: str | None = None
    revision: str | None = None
    device: str = "auto"
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"
    attn_implementation: str | None = None
    trust_remote_code: bool = False
    # VLM judge behind an OpenAI-compatible endpoint
    judge_model: str | None = None
    judge_base_url: str = "https://api.openai.com/v1"
    judge_api_key_env: str = "OPENAI_API_KEY"
    judge_max_tokens: int = 256
    # rapidocr
    rapidocr_joiner: str = " "
    # reading a folder made by another tool (no lensbench manifest): its official data, language, model folder
    data: str | None = None
    language: Literal["en", "zh"] = "en"
    model_dir: str | None = None
    # bootstrap
    n_boot: int = DEFAULT_N_BOOT
    ci_seed: int = DEFAULT_SEED
    alpha: float = 0.05

    def grid_size(self) -> tuple[int, int]:
        from lensbench.errors import UserError

        try:
            cols, rows = (int(v) for v in (self.grid.split(",")[0], self.grid.split(",")[-1]))
        except ValueError:
            raise UserError(f"oneig option grid must be 'C,R' (e.g. 2,2), got {self.grid!r}") from None
        if cols < 1 or rows < 1:
            raise UserError(f"oneig option grid must have at least one column and row, got {self.grid!r}")
        return cols, rows
