"""`lensbench demo`: the embedded default — tiny local models on CPU, no network, the whole pipeline:
generate (two resolutions) → score (tiny GenEval detector + tiny CLIP, real OCR) → speed → report."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import typer

#: a 6-prompt suite in GenEval's metadata schema, authored by lensbench (not the official file)
DEMO_GENEVAL = "suites/data/demo/geneval_mini.jsonl"


def run_demo(out: Path, *, progress: bool = True) -> dict[str, Any]:
    """Run every stage on tiny models. Returns the run directories and the report files."""
    import torch

    from lensbench.config import RunConfig
    from lensbench.errors import UserError
    from lensbench.reports import build_report
    from lensbench.runners.generate import run_generate
    from lensbench.runners.score import run_score
    from lensbench.runners.speed import SpeedConfig, run_speed

    torch.set_num_threads(min(2, torch.get_num_threads()))
    metadata = str(resources.files("lensbench").joinpath(DEMO_GENEVAL))
    common = dict(model="tiny", device="cpu", steps=4, batch_size=2, progress=progress)
    done: dict[str, Any] = {"out": str(out), "runs": {}}

    geneval_run = out / "tiny-geneval-64x64"
    done["runs"]["geneval 64x64"] = run_generate(RunConfig(
        suite="geneval", suite_options={"metadata": metadata}, images_per_prompt=2, height=64, width=64,
        out=str(geneval_run), **common))
    done["geneval"] = run_score(geneval_run, "geneval", {"detector": "tiny", "clip": "tiny"}, progress=progress)

    text_run = out / "tiny-text-128x64"
    done["runs"]["text-en 128x64"] = run_generate(RunConfig(
        suite="text-en", limit=3, height=128, width=64, out=str(text_run), **common))
    done["text"] = run_score(text_run, "text", {}, progress=progress)  # the real PP-OCRv4 model, offline

    speed_run = out / "tiny-speed"
    if not (speed_run / "speed" / "measurements.csv").exists():
        run_speed(SpeedConfig(model="tiny", resolutions=["64x64", "128x128"], steps=[4], batch_sizes=[1, 2],
                              warmup=1, repeats=3, min_duration_s=0.0, device="cpu", out=str(speed_run),
                              progress=progress))
    runs = [geneval_run, text_run, speed_run]
    try:
        files = build_report(runs, out / "report", ["md", "csv"], published=True)
    except UserError:  # an installed copy without the checkout's baselines/: report on our runs alone
        files = build_report(runs, out / "report", ["md", "csv"], published=False)
    done["report"] = [str(f) for f in files]
    return done


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Where to write the demo runs and report."),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars."),
    ) -> None:
        """Run the whole pipeline on tiny random models on CPU (no download): generate, score, speed, report."""
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        result = run_demo(out, progress=not no_progress)
        for name, s in result["runs"].items():
            typer.echo(f"generate {name}: {s['generated']} new, {s['skipped']} reused -> {s['run_dir']}")
        for key in ("geneval", "text"):
            heads = [m for m in (result[key]["results"] or {}).get("metrics", []) if m.get("category") is None]
            shown = ", ".join(f"{m['metric']}={m['value']:.3f}" for m in heads[:3] if m.get("value") is not None)
            typer.echo(f"score {key}: {shown}")
        report = Path(out) / "report"
        typer.echo(f"report: {len(result['report'])} files in {report} (start with {report / 'README.md'})")
        typer.echo(
            "\nThe tiny models have RANDOM weights: their images are noise and every quality number above is "
            "meaningless;\nthe demo proves the plumbing. For real numbers see reports/published/ (published results "
            "with sources)\nand run e.g. `lensbench generate --model lens-turbo --suite geneval --out runs/lt` on a GPU."
        )
