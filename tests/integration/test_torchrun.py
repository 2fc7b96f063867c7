"""`torchrun --nproc-per-node 2 ... generate / score` on CPU: the 2-rank run equals the 1-rank run (byte-identical
images, same records, same results); a rank killed under torchrun is resumed by a single process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lensbench.config import RunConfig
from lensbench.runners.generate import run_generate
from lensbench.runners.score import run_score
from lensbench.store.run_store import RunStore
from tests import fakes
from tests.helpers import REPO

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("torchrun_worker.py")
GEN_ARGS = ["--model", "tiny", "--suite", "fakegrid", "-S", "n=3", "--height", "64", "--width", "64", "--steps", "2",
            "--device", "cpu", "--batch-size", "1", "--no-progress"]
VOLATILE = ("latency_s", "rank", "time")


def torchrun(*args: str, env: dict | None = None, nproc: int = 2) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *args]
    e = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "LENSBENCH_MERGE_POLL": "0.1",
         "LENSBENCH_HEARTBEAT": "0.5", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=REPO, timeout=900)


def outputs(run: Path) -> dict:
    store = RunStore(run)
    out = {"images": {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*.png"))}}
    for stream in ("generate", "score.fake"):
        out[stream] = {r["key"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in store.records(stream)}
    res = run / "results" / "fake.json"
    if res.exists():
        out["results"] = {k: v for k, v in json.loads(res.read_text()).items() if k not in ("created", "run_id")}
    return out


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    fakes.install()
    run = tmp_path_factory.mktemp("single") / "run"
    cfg = RunConfig(model="tiny", suite="fakegrid", suite_options={"n": 3}, out=str(run), height=64, width=64, steps=2,
                    device="cpu", batch_size=1, progress=False)
    run_generate(cfg, generator=fakes.FakeGenerator())
    run_score(run, "fake", progress=False)
    return outputs(run)


def test_two_ranks_equal_one_rank(tmp_path, single):
    run = tmp_path / "run"
    gen = torchrun(str(WORKER), "generate", *GEN_ARGS, "--out", str(run))
    assert gen.returncode == 0, gen.stderr[-3000:]
    score = torchrun(str(WORKER), "score", str(run), "--scorer", "fake", "--no-progress")
    assert score.returncode == 0, score.stderr[-3000:]
    # one summary line for the run, from rank 0 (not one per rank)
    assert gen.stdout.count(" generated, ") == 1 and score.stdout.count("scored ") == 1, gen.stdout + score.stdout
    got = outputs(run)
    assert got["images"].keys() == single["images"].keys()  # tiles and the grids composed across ranks
    assert got == single
    ranks = {int(p.name.split(".r")[1].split(".")[0]) for p in (run / "records").glob("generate.r*.jsonl")}
    assert ranks == {0, 1}  # both ranks really worked
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["world_size"] == 2 and manifest["finished"]
    assert [r["rank"] for r in manifest["ranks"]] == [0, 1] and {r["status"] for r in manifest["ranks"]} == {"done"}


def test_rank_killed_under_torchrun_then_single_process_resume(tmp_path, single):
    run = tmp_path / "run"
    killed = torchrun(str(WORKER), "generate", *GEN_ARGS, "--out", str(run),
                      env={"LENSBENCH_TEST_KILL_RANK": "1", "LENSBENCH_TEST_KILL_AFTER": "7"})
    assert killed.returncode != 0  # torchrun reports the dead rank and stops the others
    assert 0 < len(RunStore(run).records("generate")) < 6
    fakes.install()
    cfg = RunConfig(model="tiny", suite="fakegrid", suite_options={"n": 3}, out=str(run), height=64, width=64, steps=2,
                    device="cpu", batch_size=1, progress=False)
    run_generate(cfg, generator=fakes.FakeGenerator())
    run_score(run, "fake", progress=False)
    assert outputs(run) == single


def test_real_tiny_model_two_ranks_equal_one_rank(tmp_path):
    """The real tiny diffusers pipeline through `python -m lensbench` under torchrun (no fakes), default settings:
    the plain command (no OMP_NUM_THREADS: torch would use every core), the same under torchrun (one thread per
    worker by default) and a plain partial run resumed under torchrun give byte-identical images, because
    --threads (default 1) is applied in every process and recorded."""
    args = ["generate", "--model", "tiny", "--suite", "smoke", "-n", "2", "--batch-size", "1", "--steps", "2",
            "--height", "64", "--width", "64", "--device", "cpu", "--no-progress"]
    two = torchrun("-m", "lensbench", *args, "--out", str(tmp_path / "two"))
    assert two.returncode == 0, two.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["HF_HUB_OFFLINE"] = "1"

    def plain(out: str, *extra: str) -> None:
        one = subprocess.run([sys.executable, "-m", "lensbench", *args, *extra, "--out", str(tmp_path / out)],
                             capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
        assert one.returncode == 0, one.stderr[-3000:]

    plain("one")
    a, b = outputs(tmp_path / "one"), outputs(tmp_path / "two")
    assert len(a["images"]) == 4 and a["images"] == b["images"]
    assert a["generate"] == b["generate"]
    for run in ("one", "two"):
        assert json.loads((tmp_path / run / "manifest.json").read_text())["generation"]["threads"] == 1
    plain("mixed", "--limit", "1")  # 2 of the 4 images in one process ...
    assert len(outputs(tmp_path / "mixed")["images"]) == 2
    resumed = torchrun("-m", "lensbench", *args, "--out", str(tmp_path / "mixed"))  # ... the rest with 2 ranks
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert outputs(tmp_path / "mixed")["images"] == a["images"]
    other = torchrun("-m", "lensbench", *args, "--threads", "2", "--out", str(tmp_path / "mixed"), nproc=1)
    assert other.returncode != 0 and "threads 1 -> 2" in other.stderr  # a resume that changes threads is refused
