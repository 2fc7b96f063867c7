"""The README's "reproduce a paper row" walkthrough, run as written with the model swapped to a tiny one.

The commands are read from README.md between the walkthrough markers, so the test breaks when the README changes
in a way users could not follow. Swaps (all for speed and the offline CI machine; nothing else is changed):
`lens-turbo` -> `tiny`; generate gets `--limit 4 -n 1 --steps 2` (4 images instead of 2,212); doctor and score get
the tiny GenEval detector and CLIP (`-O detector=tiny -O clip=tiny`), since the official models cannot be
downloaded here; GenEval's official metadata is put into the cache as `lensbench fetch geneval` would.
`lensbench fetch` itself needs a network: here it must stop with its one-line offline error."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import run_cli_inprocess

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TINY_SCORER = ["-O", "detector=tiny", "-O", "clip=tiny"]
EXTRA = {"generate": ["--limit", "4", "-n", "1", "--steps", "2", "--no-progress"], "score": [*TINY_SCORER, "--no-progress"],
         "doctor": TINY_SCORER}


def walkthrough_commands() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    lines = [ln.split("#", 1)[0].strip() for ln in block.splitlines()]
    return [shlex.split(ln) for ln in lines if ln and not ln.startswith("```")]


def test_walkthrough_names_the_published_numbers_and_one_gpu_steps():
    cmds = walkthrough_commands()
    verbs = [c[1] for c in cmds if c[0] == "lensbench"]
    assert verbs == ["fetch", "doctor", "generate", "score", "report", "export"]
    assert ["export", "HF_HUB_OFFLINE=1"] in cmds
    assert all("lens-turbo" in c for c in cmds if c[:2] in (["lensbench", "fetch"], ["lensbench", "generate"]))
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "0.914" in text and "0.83" in text


def test_walkthrough_runs_on_the_tiny_model(tmp_path, monkeypatch, shared_data):
    cache = tmp_path / "cache"
    (cache / "data" / "geneval").mkdir(parents=True)
    shutil.copy(shared_data / "geneval" / "evaluation_metadata.jsonl", cache / "data" / "geneval")
    monkeypatch.setenv("LENSBENCH_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)
    for var in ("HF_DATASETS_OFFLINE", "LENSBENCH_OFFLINE"):  # `doctor --offline` sets them in this process:
        monkeypatch.setenv(var, "0")                           # register them so they are restored afterwards
        monkeypatch.delenv(var)
    for cmd in walkthrough_commands():
        if cmd[0] == "export":  # a shell export: the environment variable
            key, _, value = cmd[1].partition("=")
            monkeypatch.setenv(key, value)
            continue
        args = [("tiny" if a == "lens-turbo" else a) for a in cmd[1:]]
        args += EXTRA.get(args[0], [])
        p = run_cli_inprocess(*args)
        if args[0] == "fetch":  # needs a network: one clear line, exit 2, nothing half-done
            last = p.stderr.strip().splitlines()[-1]
            assert p.returncode == 2 and last.startswith("error: ") and "HF_HUB_OFFLINE" in last, p.stderr
            continue
        assert p.returncode == 0, (args, p.stdout[-2000:], p.stderr[-2000:])
    run = tmp_path / "runs" / "lt-geneval"
    assert (run / "results" / "geneval.json").exists()
    quality = (tmp_path / "reports" / "lt-geneval" / "tables" / "quality.md").read_text()
    assert re.search(r"4/553 prompts \(0\.7%\), 1/6 categories, partial", quality)  # the quick run says so
    df = pd.read_parquet(tmp_path / "lt-geneval.parquet")
    head = df[(df.metric == "geneval") & df.category.isna()].iloc[0]
    assert head.model == "tiny" and head.prompts_scored == 4 and bool(head.partial)
    assert {"pdf", "svg", "png"} <= {p.suffix[1:] for p in (tmp_path / "reports" / "lt-geneval" / "charts").iterdir()}


def test_a_limit_run_is_partial_against_the_published_numbers(tmp_path, monkeypatch, shared_data):
    """Issue 13 item 2 on a real scored run: a 6-prompt GenEval run of a model with published numbers is shown
    partial in `report --published`, coverage visible, and kept out of the differences."""
    import json

    cache = tmp_path / "cache"
    (cache / "data" / "geneval").mkdir(parents=True)
    shutil.copy(shared_data / "geneval" / "evaluation_metadata.jsonl", cache / "data" / "geneval")
    monkeypatch.setenv("LENSBENCH_CACHE", str(cache))
    run = tmp_path / "run"
    for args in (["generate", "--model", "tiny", "--suite", "geneval", "--out", str(run), "--limit", "6", "-n", "1",
                  "--steps", "2", "--no-progress"], ["score", str(run), *EXTRA["score"]]):
        p = run_cli_inprocess(*args)
        assert p.returncode == 0, p.stderr[-2000:]
    for path in (run / "manifest.json", run / "results" / "geneval.json"):  # pose as a model with published numbers
        doc = json.loads(path.read_text())
        doc["model"]["name"] = "lens-turbo"
        path.write_text(json.dumps(doc))
    p = run_cli_inprocess("report", str(run), "--published", "--no-charts", "-f", "csv", "-o", str(tmp_path / "rep"))
    assert p.returncode == 0, p.stderr
    pvr = pd.read_csv(tmp_path / "rep" / "tables" / "published_vs_reproduced.csv")
    rows = pvr[(pvr["Metric"] == "GenEval") & (pvr["Category"] == "Overall")]
    assert set(rows["Published"]) >= {"0.914†", "0.83†"}
    assert rows["Comparison"].str.startswith("partial: 6/553 prompts").all()
    assert rows["Difference (ours − published)"].isna().all() and rows["Outside our CI?"].isna().all()
    assert rows["Our protocol"].str.contains("6/553 prompts", regex=False).all()
