"""Score and report checks: a tiny GenEval run scored by the tiny detector (a real Mask2Former build) and the
tiny CLIP, then a report over the selftest's runs. Nothing is downloaded: both scorer models are local builds."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

from lensbench.selftest.context import CORE_MODEL, Context
from lensbench.selftest.result import CheckResult, skipped, timed, verdict

#: a 6-prompt suite in GenEval's metadata schema, authored by lensbench (packaged with it; also used by the demo)
GENEVAL_MINI = "suites/data/demo/geneval_mini.jsonl"
SCORE, REPORT = "score geneval (tiny detector)", "report"


def _metadata() -> Path:
    return Path(str(resources.files("lensbench").joinpath(GENEVAL_MINI)))


def check_score(ctx: Context) -> CheckResult:
    from lensbench.config import RunConfig
    from lensbench.runners.generate import run_generate
    from lensbench.runners.score import run_score

    s = ctx.settings
    run = ctx.out / "score" / f"{CORE_MODEL}-geneval"
    cfg = RunConfig(model=CORE_MODEL, suite="geneval", suite_options={"metadata": str(_metadata())},
                    images_per_prompt=1, limit=s.images, height=s.size, width=s.size, dtype=ctx.default_dtype,
                    device=ctx.device, batch_size=1, out=str(run), progress=s.progress)
    gen = run_generate(cfg, generator=ctx.generator(CORE_MODEL, ctx.default_dtype))
    out = run_score(run, "geneval", {"detector": "tiny", "clip": "tiny"}, progress=s.progress)
    ctx.runs["geneval"] = str(run)
    res = out["results"] or {}
    head = [m for m in res.get("metrics", []) if m.get("category") is None and m.get("metric") == "geneval"]
    value = head[0]["value"] if head else None
    written = (run / "results" / "geneval.json").exists()
    ok = (written and gen["generated"] == s.images and res.get("n_scored") == res.get("n_units") == s.images
          and value is not None and math.isfinite(value) and 0 <= value <= 1)
    figure = f"{res.get('n_scored')}/{res.get('n_units')} images scored, geneval={value if value is None else round(value, 3)}"
    detail = ("generate → score → results/geneval.json (random weights: the score itself is meaningless)" if ok else
              f"results written: {written}, images made: {gen['generated']}, units scored: {res.get('n_scored')} of "
              f"{res.get('n_units')}, headline geneval: {value}")
    return verdict(SCORE, "score", ok, figure, detail, "run `lensbench score " + str(run) + " --scorer geneval -O "
                   "detector=tiny -O clip=tiny` to see the error; check transformers/open_clip versions with "
                   "`lensbench doctor`", run_dir=str(run), n_units=res.get("n_units"), n_scored=res.get("n_scored"),
                   geneval=value, seconds_score=out.get("seconds"))


def check_report(ctx: Context) -> CheckResult:
    import importlib.util

    from lensbench.reports import build_report

    runs = [ctx.runs[k] for k in ("geneval", "speed") if k in ctx.runs]
    if not runs:
        return skipped(REPORT, "report", "no score or speed run to report on (those checks did not run)",
                       "run the score and speed checks too (drop --only)")
    charts = importlib.util.find_spec("matplotlib") is not None
    files = build_report(runs, ctx.out / "report", ["md", "csv"], published=False, charts=charts)
    index = ctx.out / "report" / "README.md"
    text = index.read_text(encoding="utf-8") if index.exists() else ""
    missing = [Path(r).name for r in runs if Path(r).name not in text and Path(r).parent.name not in text]
    ok = index.exists() and len(files) > 1
    figure = f"{len(files)} files ({'with' if charts else 'without'} charts)"
    detail = f"report over {len(runs)} runs in {ctx.out / 'report'}"
    if not ok:
        detail = f"report has {len(files)} files, index {'present' if index.exists() else 'missing'}; " + detail
    return verdict(REPORT, "report", ok, figure, detail, "run `lensbench report` on the run directories in "
                   f"{ctx.out} to see the error", files=[str(f) for f in files], runs=runs, charts=charts,
                   runs_not_named_in_index=missing)


def run_score_group(ctx: Context) -> list[CheckResult]:
    return [timed(check_score, ctx, SCORE, "score")]


def run_report_group(ctx: Context) -> list[CheckResult]:
    return [timed(check_report, ctx, REPORT, "report")]

