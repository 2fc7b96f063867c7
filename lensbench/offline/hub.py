"""Which files of a Hub repository to download, and whether a local copy (HF cache snapshot or a plain
directory) holds every file a loader needs. No network here; `huggingface_hub` is imported lazily.

File choice (what `from_pretrained` actually reads, as diffusers/transformers prefer it):
- per folder, ``*.safetensors`` instead of other weight formats (``.bin``, ``.pt``, ``.ckpt``, ...) when present;
- the plain weights, not precision/EMA variants (``*.fp16.safetensors``), when plain ones exist;
- in a diffusers repository (``model_index.json``), no single-file checkpoints at the root (e.g. FLUX.1-dev's
  23 GB ``flux1-dev.safetensors`` next to its ``transformer/`` folder): the pipeline loads the folders.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

WEIGHT_EXTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf", ".onnx", ".ot")
VARIANT_RE = re.compile(r"\.(fp16|bf16|fp32|fp8|ema|non_ema|non-ema)([.-]|$)")


def is_weight(name: str) -> bool:
    return name.endswith(WEIGHT_EXTS)


def _is_variant(name: str) -> bool:
    return bool(VARIANT_RE.search(name))


def _weight_class(name: str) -> tuple[int, int] | None:
    """(format rank, variant rank) of a weight file or weight index; None for other files. Lower is preferred."""
    is_index = bool(re.search(r"\.index(\.[^.]+)?\.json$", name))
    if not (is_weight(name) or is_index):
        return None
    return (0 if ".safetensors" in name else 1, 1 if _is_variant(name) else 0)


def preferred_files(files: list[str]) -> list[str]:
    """The subset of a repository's files to download (see the module docstring), in input order: in each
    folder only the weight files (and indexes) of the best class present: plain safetensors, then variant
    safetensors, then plain other formats, then anything."""
    diffusers_repo = "model_index.json" in files
    best: dict[str, tuple[int, int]] = {}
    for f in files:
        d, cls = posixpath.dirname(f), _weight_class(posixpath.basename(f))
        if cls is None or (diffusers_repo and d == "" and is_weight(f)):
            continue
        best[d] = min(best.get(d, cls), cls)
    keep = []
    for f in files:
        d, cls = posixpath.dirname(f), _weight_class(posixpath.basename(f))
        if cls is not None and (cls != best.get(d) or (diffusers_repo and d == "" and is_weight(f))):
            continue
        keep.append(f)
    return keep


def _weights_problems(folder: Path, label: str) -> list[str]:
    """Missing weight files of a model folder: every shard of a plain index, or at least one weight file."""
    indexes = sorted(p for p in folder.glob("*.index.json") if not _is_variant(p.name))
    st_indexes = [p for p in indexes if ".safetensors." in p.name] or indexes
    if st_indexes:
        try:
            shards = sorted(set(json.loads(st_indexes[0].read_text()).get("weight_map", {}).values()))
        except (OSError, ValueError):
            return [f"{label}{st_indexes[0].name} (unreadable)"]
        return [f"{label}{s}" for s in shards if not (folder / s).is_file()]
    if any(p.is_file() for p in folder.iterdir() if is_weight(p.name)):
        return []
    return [f"{label}<weights> (no {', '.join(WEIGHT_EXTS[:3])} file)"]


def local_problems(path: str | Path) -> list[str]:
    """What a local model copy lacks (empty list = complete). Works on HF cache snapshots (files there are
    symlinks into blobs/, so a blob that never arrived shows up as missing) and on plain directories."""
    root = Path(path)
    if not root.is_dir():
        return [f"{root} (not a directory)"]
    index = root / "model_index.json"
    if index.is_file():
        try:
            components = json.loads(index.read_text())
        except (OSError, ValueError):
            return ["model_index.json (unreadable)"]
        problems = []
        for name, value in components.items():
            if name.startswith("_") or not (isinstance(value, list) and len(value) == 2 and all(value)):
                continue
            folder = root / name
            if not folder.is_dir() or not any(folder.iterdir()):
                problems.append(f"{name}/")
            elif (folder / "config.json").is_file():
                problems += _weights_problems(folder, f"{name}/")
        return problems
    if (root / "config.json").is_file():
        return _weights_problems(root, "")
    return [] if any(root.iterdir()) else [f"{root} (empty)"]


def cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def cached_snapshot(repo_id: str, revision: str | None = None, cache: str | None = None) -> Path | None:
    """The HF cache snapshot folder of `repo_id` (found through `try_to_load_from_cache`), or None."""
    import huggingface_hub

    for marker in ("model_index.json", "config.json"):
        hit = huggingface_hub.try_to_load_from_cache(repo_id, marker, cache_dir=cache or cache_dir(), revision=revision)
        if isinstance(hit, str):
            return Path(hit).parent
    return None
