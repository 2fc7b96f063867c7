"""The demo pipeline: tiny local models on CPU, no network, every stage — generate → score → speed → report.

`run_demo(out)` is the Python API behind ``lensbench demo``. The generation runs are data (`DEMO_RUNS`): adding
one (another tiny model, another suite) is one `DemoRun` entry; each is generated, scored with its scorer and
put in the report. The tiny models have random weights: the demo proves the plumbing, not quality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

#: a 6-prompt suite in GenEval's metadata schema, authored by lensbench (not the official file)
DEMO_GENEVAL = "suites/data/demo/geneval_mini.jsonl"
#: RunConfig fields every demo run shares
COMMON: dict[str, Any] = {"model": "tiny", "device": "cpu", "steps": 4, "batch_size": 2}


@dataclass(frozen=True)
class DemoRun:
    """One generation run of the demo and how it is scored."""

    label: str  # shown in the output, e.g. "geneval 64x64" (sizes WxH)
    run_dir: str  # directory name under the demo's --out
    config: dict[str, Any]  # RunConfig fields on top of COMMON; "{geneval_metadata}" is filled in
    scorer: str | None = None  # scored with this scorer (None: generate only)
    scorer_options: dict[str, Any] = field(default_factory=dict)
    score_key: str | None = None  # key of its score summary in run_demo's result (default: the scorer name)


DEMO_RUNS: list[DemoRun] = [
    DemoRun("geneval 64x64", "tiny-geneval-64x64",
            {"suite": "geneval", "suite_options": {"metadata": "{geneval_metadata}"}, "images_per_prompt": 2,
             "width": 64, "height": 64},
            scorer="geneval", scorer_options={"detector": "tiny", "clip": "tiny"}),
    DemoRun("text-en 128x64", "tiny-text-128x64", {"suite": "text-en", "limit": 3, "width": 128, "height": 64},
            scorer="text"),  # the real PP-OCRv4 model, offline
]
#: runs that need an optional package: (import name, run, one line on how to add it when it is missing).
#: tiny-lens is built from the upstream `lens` classes, so the demo exercises the flagship model's real code.
OPTIONAL_RUNS: list[tuple[str, DemoRun, str]] = [
    ("lens", DemoRun("lens geneval 64x64 (upstream Lens code)", "tiny-lens-geneval-64x64",
                     {"model": "tiny-lens", "suite": "geneval", "suite_options": {"metadata": "{geneval_metadata}"},
                      "images_per_prompt": 1, "steps": 2, "width": 64, "height": 64},
                     scorer="geneval", scorer_options={"detector": "tiny", "clip": "tiny"}, score_key="geneval-lens"),
     "tiny-lens skipped: the upstream `lens` package is not importable; to add it, git clone "
     "github.com/microsoft/Lens, put the clone on PYTHONPATH and pip install 'lensbench[lens]'"),
]


def demo_runs() -> tuple[list[DemoRun], list[str]]:
    """DEMO_RUNS plus the optional runs whose package is importable; and one note per optional run left out."""
    import importlib.util

    runs, notes = list(DEMO_RUNS), []
    for package, run, how in OPTIONAL_RUNS:
        try:
            found = importlib.util.find_spec(package) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            runs.append(run)
        else:
            notes.append(how)
    return runs, notes


#: SpeedConfig fields of the demo's speed run
DEMO_SPEED: dict[str, Any] = {"model": "tiny", "resolutions": ["64x64", "128x128"], "steps": [4], "batch_sizes": [1, 2],
                              "warmup": 1, "repeats": 3, "min_duration_s": 0.0, "device": "cpu"}


def _fill(value: Any, facts: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**facts) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, facts) for k, v in value.items()}
    return value


def run_demo(out: Path, *, progress: bool = True, runs: list[DemoRun] | None = None) -> dict[str, Any]:
    """Run every stage on tiny models. Returns {"out", "runs": {label: generate summary}, "scores": {key: score
    summary}, "report": [files]} (the score summaries are also under their key, e.g. result["geneval"])."""
    import torch

    from lensbench.config import RunConfig
    from lensbench.reports import build_report
    from lensbench.runners.generate import run_generate
    from lensbench.runners.score import run_score
    from lensbench.speed.run import SpeedConfig, run_speed

    out = Path(out)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    facts = {"geneval_metadata": str(resources.files("lensbench").joinpath(DEMO_GENEVAL))}
    done: dict[str, Any] = {"out": str(out), "runs": {}, "scores": {}, "notes": []}
    if runs is None:
        runs, done["notes"] = demo_runs()
    run_dirs = []
    for r in runs:
        run_dir = out / r.run_dir
        cfg = RunConfig(**{**COMMON, **_fill(r.config, facts), "out": str(run_dir), "progress": progress})
        done["runs"][r.label] = run_generate(cfg)
        if r.scorer is not None:
            key = r.score_key or r.scorer
            done["scores"][key] = done[key] = run_score(run_dir, r.scorer, dict(r.scorer_options), progress=progress)
        run_dirs.append(run_dir)
    speed_run = out / "tiny-speed"
    csv_path = speed_run / "speed" / "measurements.csv"
    reused = csv_path.exists()
    if not reused:  # speed runs are not resumed
        run_speed(SpeedConfig(**DEMO_SPEED, out=str(speed_run), progress=progress))
    rows = max(0, len(csv_path.read_text(encoding="utf-8").splitlines()) - 1)  # header + one row per configuration
    done["speed"] = {"model": DEMO_SPEED["model"], "run_dir": str(speed_run), "configurations": rows, "reused": reused}
    run_dirs.append(speed_run)
    done["report"] = [str(f) for f in build_report(run_dirs, out / "report", ["md", "csv"], published=True)]
    return done
