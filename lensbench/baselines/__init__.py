"""Published baselines as package data (``lensbench/baselines/data/*.toml``) and the low-level facts about them.

This is the bottom layer of baselines: where the files are (`data_dir`), reading one TOML file with a
one-line error (`read_toml`), the published latencies of one model (`published_latencies`, used by the speed
suite) and the one rule for "measured on the same device" (`device_matches`). Full validation of every entry
against the metric vocabulary lives in `lensbench.reports.baselines` (it reads the same files).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from lensbench.errors import UserError

ENV = "LENSBENCH_BASELINES"
LATENCY_METRIC = "latency_s"


def data_dir() -> Path:
    """``$LENSBENCH_BASELINES``, else the baseline files shipped inside the package."""
    env = os.environ.get(ENV)
    return Path(env).expanduser() if env else Path(__file__).resolve().parent / "data"


def read_toml(path: Path) -> dict[str, Any]:
    """A baseline file's table; a missing, directory, binary or malformed file is one UserError line
    (lensbench.filecheck: the same checks as config and grid files)."""
    from lensbench.filecheck import read_text_file

    text = read_text_file(path, "baseline file", "fix or remove it")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"baseline file {path} is not valid TOML ({exc}); fix its syntax") from None


def gpu_count(device: str) -> int:
    """'8x NVIDIA H100' -> 8; a device without an 'Nx ' prefix is one GPU."""
    m = re.search(r"(\d+)\s*[x×]\s", device.lower() + " ")
    return int(m[1]) if m else 1


def device_matches(published: str, measured: str) -> bool:
    """The one rule for comparing a published latency with ours: the published device is one GPU and every
    model token of it (tokens with a digit that are not a GPU count: 'h100', '3090', '80gb') appears in our
    device name. 'Apple M-series (MLX)' has no such token and never matches; 'NVIDIA A100-80GB' does not match
    'NVIDIA A100-SXM4-40GB'; '8x NVIDIA H100' does not match one H100."""
    tokens = [t for t in re.findall(r"[a-z0-9]+", published.lower())
              if re.search(r"\d", t) and not re.fullmatch(r"\d+x", t)]
    mine = measured.lower()
    return bool(tokens) and gpu_count(published) == 1 and all(t in mine for t in tokens)


def _canonical_model(directory: Path, name: str) -> str:
    key = name.strip().lower()
    for m in read_toml(directory / "models.toml").get("model", []):
        names = [m.get("name", ""), m.get("display", ""), *m.get("aliases", ())]
        if key in (str(n).lower() for n in names):
            return m["name"]
    return name


def published_latencies(model: str, directory: str | os.PathLike | None = None) -> tuple[list[dict[str, Any]], str]:
    """(published ``latency_s`` entries for `model` (name or alias), the directory they came from). Entries
    give the value as published (``text``) and as a number (``value``; the midpoint of a range, the number of
    '~x')."""
    root = Path(directory) if directory is not None else data_dir()
    if not (root / "models.toml").is_file():
        raise UserError(f"no baselines found: {root / 'models.toml'} does not exist; set {ENV} to a baselines directory")
    name = _canonical_model(root, model)
    out = []
    for path in sorted(root.glob("*.toml")):
        if path.name == "models.toml":
            continue
        data = read_toml(path)
        label = (data.get("document") or {}).get("label", "")
        for e in data.get("entry", []):
            raw = e.get("value") if e.get("metric") == LATENCY_METRIC else (e.get("metrics") or {}).get(LATENCY_METRIC)
            if raw is None or e.get("model") != name:
                continue
            text = str(raw).strip()
            nums = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]
            out.append({"model": name, "value": sum(nums) / len(nums) if nums else None, "text": text,
                        "device": e.get("device", ""), "height": e.get("height"), "width": e.get("width"),
                        "steps": e.get("steps"), "source": e.get("source", ""), "measured_by": e.get("measured_by", ""),
                        "ref": e.get("ref") or label, "note": e.get("note", ""), "uncertain": bool(e.get("uncertain", False)),
                        "variant": e.get("variant", "")})
    return out, str(root)
