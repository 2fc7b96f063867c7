"""Quiet, standard terminal behaviour: no third-party progress bar or warning reaches stderr in `ablate` and
`score` (and `demo`, in test_demo.py) with --no-progress (fresh caches, so the tiny builds and their "Writing model shards" /
"Loading weights" / open_clip "No pretrained weights loaded" really happen); `--version`; and offline scoring
without HF_HUB_OFFLINE and without a network fails at once with one line (the hub endpoint is a closed port on
127.0.0.1: nothing leaves the machine)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from tests.helpers import REPO, run_cli, run_cli_inprocess

NOISE = re.compile(r"it/s\]|\d+%\||Loading weights|Writing model shards|Fetching \d+ files|No pretrained weights|"
                   r"[Ww]arning|WARNING|Retrying in|Traceback|tqdm", re.MULTILINE)


def assert_no_library_noise(stderr: str) -> None:
    assert not NOISE.search(stderr), stderr[-2000:]
    assert stderr.strip() == "", stderr[-2000:]


def test_version_and_global_options():
    import lensbench

    p = run_cli_inprocess("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"lensbench {lensbench.__version__}"
    h = run_cli_inprocess("--help")
    assert all(flag in h.stdout for flag in ("--quiet", "--verbose", "--no-progress", "--version"))


@pytest.fixture
def fake_run(shared_data, tmp_path):
    from lensbench.config import RunConfig
    from lensbench.generators import MODELS, LoadOptions
    from lensbench.runners.generate import run_generate
    from tests.ablation_support import FakeGenerator

    cfg = RunConfig(model="tiny", suite="geneval", out=str(tmp_path / "run"), limit=2, images_per_prompt=1,
                    suite_options={"metadata": str(shared_data / "geneval" / "evaluation_metadata.jsonl")},
                    height=32, width=32, device="cpu", progress=False)
    run_generate(cfg, generator=FakeGenerator(MODELS.get("tiny"), LoadOptions(device="cpu")))
    return tmp_path / "run"


@pytest.mark.slow
def test_offline_scoring_without_hf_hub_offline_fails_at_once_with_one_line(fake_run, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") and "proxy" not in k.lower()}
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=str(tmp_path / "hf"), LENSBENCH_CACHE=str(tmp_path / "c"))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "lensbench", "score", str(fake_run), "--scorer", "clipscore"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    seconds = time.perf_counter() - t0
    print(f"offline clipscore failure after {seconds:.1f}s (imports included)")  # measured, never asserted
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: cannot load the CLIP model"), p.stderr
    assert "Retrying" not in p.stderr


@pytest.mark.slow
def test_ablate_and_score_print_no_library_noise(shared_data, fake_run, tmp_path):
    """(`demo --no-progress` on a fresh cache is checked the same way in test_demo.py.)"""
    meta = str(shared_data / "geneval" / "evaluation_metadata.jsonl")
    grid = next(p for p in (REPO / "examples" / "ablations" / "tiny.toml", REPO / "suites" / "ablations" / "tiny.toml")
                if p.is_file())
    abl = run_cli("ablate", str(grid), "-S", f"metadata={meta}", "--limit", "1",
                  "--out", str(tmp_path / "abl"), "--no-progress", env={"LENSBENCH_CACHE": str(tmp_path / "c2")})
    assert abl.returncode == 0, abl.stderr[-2000:]
    assert_no_library_noise(abl.stderr)
    score = run_cli("score", str(fake_run), "--scorer", "clipscore", "-O", "model=tiny", "--no-progress",
                    env={"LENSBENCH_CACHE": str(tmp_path / "c3")})
    assert score.returncode == 0, score.stderr[-2000:]
    assert_no_library_noise(score.stderr)
