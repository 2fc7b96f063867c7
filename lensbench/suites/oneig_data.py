"""OneIG-Bench data files: where they live, reading them, and fetching them (pinned commit + sha256).

Nothing of the benchmark is committed to lensbench. A data folder holds the official files flat (as
``/work/shared/data/oneig``): ``OneIG-Bench.csv``, ``OneIG-Bench-ZH.csv``, ``Q_D/<class>[_zh].json``,
``text_content[_zh].csv``, ``gt_answer[_zh].json``, ``style.csv``, ``CSD_embed.pt``, ``SE_embed.pt``.
``-S data=DIR`` points at one; otherwise `fetch_oneig_data` downloads the files of the pinned upstream commit
into ``${LENSBENCH_CACHE:-~/.cache/lensbench}/data/oneig/`` and checks every file against `FILES`.

Upstream: OneIG-Bench/OneIG-Benchmark @ 41b49831e79e6dde5323618c164da1c4cf0f699d (2026-02-10); no licence
file in the repository, the Hugging Face dataset card (OneIG-Bench/OneIG-Bench) declares CC BY-NC 4.0.
Digests: recorded from the files of that commit (shared/data/oneig/README.md).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.util.files import build_dir_atomic, cache_root
from lensbench.util.files import sha256_file as file_sha256

UPSTREAM_REPO = "OneIG-Bench/OneIG-Benchmark"
UPSTREAM_COMMIT = "41b49831e79e6dde5323618c164da1c4cf0f699d"
RAW_URL = f"https://raw.githubusercontent.com/{UPSTREAM_REPO}/{UPSTREAM_COMMIT}/"

#: local name -> (upstream path, bytes, sha256)
FILES: dict[str, tuple[str, int, str]] = {
    "OneIG-Bench.csv": ("OneIG-Bench.csv", 378082, "e06c65b32252d82406fb1a27f13022b38d432c899a2486eb49ab0c100f83b3e1"),
    "OneIG-Bench-ZH.csv": ("OneIG-Bench-ZH.csv", 375669, "8fc4ae1403db32dbb1203cc457361c3215500b34e741194a53f5002c9d824700"),
    "Q_D/anime.json": ("scripts/alignment/Q_D/anime.json", 240912, "21ea3d0360e69d72bc5f4cbb93b203d293d16f5c2f626634a52b990119e0a6e3"),
    "Q_D/anime_zh.json": ("scripts/alignment/Q_D/anime_zh.json", 250389, "171740d2d7158f0da2d907481b5cd97380398e4a45b53f0976ad4d91e01151d4"),
    "Q_D/human.json": ("scripts/alignment/Q_D/human.json", 233346, "0e92b25c6bc4091cac05fa0f4269b3b37465a7cd43ca2768f55f56149cdbf13b"),
    "Q_D/human_zh.json": ("scripts/alignment/Q_D/human_zh.json", 248770, "819f13b1efab67bdfba9ca633a37e009013350d148323f5d65b2a467f1789c64"),
    "Q_D/multilingualism_zh.json": ("scripts/alignment/Q_D/multilingualism_zh.json", 148469, "63614e72dbd86f1e56ed625a55f73d509323d34b68fb27d8fed0f87a49f69db9"),
    "Q_D/object.json": ("scripts/alignment/Q_D/object.json", 179650, "350dfdf72c2da143c78a7544d4c554faf6698c1ba4fcd27c7a9cc9199d487e0e"),
    "Q_D/object_zh.json": ("scripts/alignment/Q_D/object_zh.json", 185005, "19f69cfdf17119ff5400919341c930468a0de5ee06b9c91d8f16ba2365f51498"),
    "text_content.csv": ("scripts/text/text_content.csv", 97314, "ffbf0b588c617b77caf1e9a733496ff5b4704b6534df5fba13201a83f21e0512"),
    "text_content_zh.csv": ("scripts/text/text_content_zh.csv", 89199, "6250b3be96e9c4fd4c9cb858dd36b5b2dc4fc8fccb8e4ed0317f5da392db9a1a"),
    "gt_answer.json": ("scripts/reasoning/gt_answer.json", 141383, "e46733770fc0b99632e77e54f59316bcc7f170752680dd0c24d43c722bae402b"),
    "gt_answer_zh.json": ("scripts/reasoning/gt_answer_zh.json", 94881, "faaf0849de1fb62829ed49ec5de7f582562847fb01f390b7a4bb106e48f0c116"),
    "style.csv": ("scripts/style/style.csv", 3127, "6add59b8a5791b97c3abaec4b193d8a1635ef6377e2b2edbbf7730beaa097761"),
    "CSD_embed.pt": ("scripts/style/CSD_embed.pt", 275724, "cab217036607911e4273003cda5c8dfb69528e4a0421ec6006af8ddc6525e56e"),
    "SE_embed.pt": ("scripts/style/SE_embed.pt", 231149, "c53719b72b40ea997547fad1a001150350337bf69039965c6ff731ff2a17dd83"),
}
PROMPT_CSV = {"en": "OneIG-Bench.csv", "zh": "OneIG-Bench-ZH.csv"}
PROMPT_COLUMN = {"en": "prompt_en", "zh": "prompt_cn"}


def cache_dir() -> Path:
    return cache_root() / "data" / "oneig"


def check_dir(data: Path, names: list[str] | None = None) -> dict[str, str]:
    """sha256 of the named files (default: all) in `data`; a missing file is a UserError naming it."""
    out = {}
    for name in names or list(FILES):
        p = data / name
        if not p.is_file():
            raise UserError(f"OneIG data folder {data} has no {name}; pass -S data=DIR with the official files "
                            f"({UPSTREAM_REPO} {FILES[name][0]}) or run `lensbench fetch oneig` with a network")
        out[name] = file_sha256(p)
    return out


def provenance(data: Path) -> dict[str, Any]:
    """Which files differ from the pinned commit (a non-official data file makes a run off-protocol)."""
    digests = {n: file_sha256(data / n) for n in FILES if (data / n).is_file()}
    modified = sorted(n for n, d in digests.items() if d != FILES[n][2])
    return {"upstream": UPSTREAM_REPO, "commit": UPSTREAM_COMMIT, "files": len(digests), "modified": modified,
            "missing": sorted(set(FILES) - set(digests))}


def _download(url: str, dest: Path, timeout: float = 60.0) -> None:
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:  # noqa: S310 - fixed https URL
        shutil.copyfileobj(resp, out)


def fetch_oneig_data(dest: str | Path | None = None, *, download: Callable[[str, Path], None] | None = None) -> Path:
    """Download every file of `FILES` from the pinned commit, check bytes + sha256, move into place. Idempotent."""
    for var in ("HF_HUB_OFFLINE", "LENSBENCH_OFFLINE"):
        if os.environ.get(var) == "1":
            raise UserError(f"OneIG data not found in {dest or cache_dir()} and {var}=1 forbids the download; pass "
                            "-S data=DIR with the official files, or run `lensbench fetch oneig` with a network")
    dest = Path(dest) if dest is not None else cache_dir()
    download = download or _download

    def complete(p: Path) -> bool:
        return all((p / n).is_file() for n in FILES)

    def build(staging: Path) -> None:
        for name, (upstream, size, digest) in FILES.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            url = RAW_URL + upstream
            try:
                download(url, target)
            except OSError as exc:
                raise UserError(f"could not download {url} ({exc}); pass -S data=DIR with the official files") from None
            got = file_sha256(target)
            if got != digest or target.stat().st_size != size:
                raise UserError(f"{url} has sha256 {got[:12]}…, expected {digest[:12]}… (pinned {UPSTREAM_COMMIT[:7]}); "
                                "pass -S data=DIR with a verified copy")
        (staging / "SOURCE.json").write_text(json.dumps({"upstream": UPSTREAM_REPO, "commit": UPSTREAM_COMMIT,
                                                         "files": {n: f[2] for n, f in FILES.items()}}, indent=2))

    return build_dir_atomic(dest, build, complete)


# -- readers (dtype=str semantics of the official pandas reads: ids keep their leading zeros) ---------------
def read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"cannot read {path} ({exc}); restore the official file") from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {path} ({exc}); restore the official file") from None


def qd_path(data: Path, folder: str, language: str) -> Path:
    """alignment_score.py: ``Q_D/<class>.json`` (EN) or ``Q_D/<class>_zh.json`` (ZH)."""
    return data / "Q_D" / (f"{folder}.json" if language == "en" else f"{folder}_zh.json")


def text_targets(data: Path, language: str) -> list[tuple[str, str]]:
    """(id, text_content repr) in CSV order."""
    rows = read_csv(data / ("text_content.csv" if language == "en" else "text_content_zh.csv"))
    return [(r["id"], r["text_content"]) for r in rows]


def reasoning_answers(data: Path, language: str) -> dict[str, str]:
    return read_json(data / ("gt_answer.json" if language == "en" else "gt_answer_zh.json"))


def style_classes(data: Path) -> dict[str, str]:
    """id -> raw style class ("" = no style) from style.csv (used in both languages, as style_score.py)."""
    return {r["id"]: r.get("class") or "" for r in read_csv(data / "style.csv")}


def load_reference_embeddings(path: Path) -> dict[str, Any]:
    """``{style: tensor [3, D]}`` loaded with ``weights_only=True`` (on CPU); anything needing pickle is refused."""
    import pickle

    import torch

    try:
        refs = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path} cannot be loaded with torch.load(weights_only=True) ({first}); lensbench never "
                        "unpickles arbitrary objects: use the official reference file (a dict of tensors)") from None
    if not isinstance(refs, dict) or not all(isinstance(v, torch.Tensor) for v in refs.values()):
        raise UserError(f"{path} is not a dict of style name -> tensor; use the official reference file")
    return refs
