"""Fault injection: SIGKILL at random write steps (seeded), full disk, damaged images; every resume must end
byte-identical to an uninterrupted run, with no duplicate and no missing record.

Trials fork the test process after torch is imported (tests/fakes.py), so each costs well under a second.
Reproduce a failure with the seed printed in its message; explore others with LENSBENCH_FAULT_SEED=N.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.runners.generate import run_generate
from lensbench.runners.score import run_score
from lensbench.store import faults
from lensbench.store.integrity import scan_run
from lensbench.store.run_store import RunStore
from tests import fakes

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("LENSBENCH_FAULT_SEED", "20250801"))
VOLATILE = ("latency_s", "rank", "time")
FAST_COORD = {"LENSBENCH_MERGE_POLL": "0.05", "LENSBENCH_HEARTBEAT": "0.1", "LENSBENCH_RANK_TIMEOUT": "1.5"}


def cfg(out: Path, **kw) -> RunConfig:
    base = dict(model="tiny", suite="fakegrid", suite_options={"n": 4}, out=str(out), height=64, width=64, steps=2,
                device="cpu", batch_size=3, progress=False)
    return RunConfig(**{**base, **kw})


def generate(out: Path, batch_size: int = 3, **kw):
    return run_generate(cfg(out, batch_size=batch_size), generator=fakes.FakeGenerator(), **kw)


def score(out: Path, **kw):
    return run_score(out, "fake", progress=False, **kw)


def state(run: Path, unique: bool = True) -> dict:
    """Everything that must match an uninterrupted run: image bytes, committed records, results. `unique`: no
    key was committed twice (a repaired image legitimately gets a second, superseding record)."""
    store = RunStore(run)
    images = {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*.png")) if not p.name.startswith(".")}
    out = {"images": images}
    for stream in ("generate", "score.fake"):
        ok_lines: dict[str, int] = {}
        for f in store.stream_files(stream):
            for line in f.read_text().splitlines(keepends=True):
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn line of a killed writer
                if line.endswith("\n") and rec.get("status") == "ok":
                    ok_lines[rec["key"]] = ok_lines.get(rec["key"], 0) + 1
        assert not unique or all(n == 1 for n in ok_lines.values()), f"duplicate {stream} records: {ok_lines}"
        out[stream] = {r["key"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in store.records(stream)}
    res = run / "results" / "fake.json"
    if res.exists():
        out["results"] = {k: v for k, v in json.loads(res.read_text()).items() if k != "created"}
    return out


def assert_consistent(run: Path) -> None:
    """Every committed image is intact, no temp file is left, no image lies around without a record."""
    report = scan_run(run, RunStore(run).records("generate"), verify=True)
    assert report.damaged == [] and report.temp_files == [], report.to_dict()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    fakes.install()
    root = tmp_path_factory.mktemp("ref")
    faults.configure()
    generate(root / "run")
    gen_steps = faults.steps()
    gen_only = root / "gen-only"
    shutil.copytree(root / "run", gen_only)
    faults.configure()
    score(root / "run")
    score_steps = faults.steps()
    faults.configure()
    assert gen_steps > 30 and score_steps > 8, (gen_steps, score_steps)
    return {"state": state(root / "run"), "gen_steps": gen_steps, "score_steps": score_steps, "gen_only": gen_only}


@pytest.mark.parametrize("batch_size", [1, 4])
def test_generate_sigkill_trials(tmp_path, batch_size):
    """20 trials per batch size: one or two SIGKILLs at random write steps (images, directory fsync, the grouped
    records of a batch), then resume; identical to the uninterrupted run. Batches commit as a group, so this
    proves "a record exists only for an image that is durably on disk" at every step."""
    fakes.install()
    faults.configure()
    generate(tmp_path / "ref", batch_size)
    gen_steps = faults.steps()
    faults.configure()
    rng = random.Random(SEED + 10 * batch_size)
    ref = {k: v for k, v in state(tmp_path / "ref").items() if k in ("images", "generate")}
    killed = 0
    for trial in range(20):
        out = tmp_path / f"t{trial}"
        points = [rng.randint(1, gen_steps) for _ in range(rng.choice((1, 1, 2)))]
        run_id = None
        for n in points:
            res = fakes.run_forked(lambda: generate(out, batch_size), kill_after=n)
            assert res.killed or res.code == 0, (SEED, trial, points, res)
            killed += res.killed
            if run_id is None and (out / "manifest.json").exists() and RunStore(out).done_keys("generate"):
                run_id = json.loads((out / "manifest.json").read_text())["run_id"]
        generate(out, batch_size)
        got = {k: v for k, v in state(out).items() if k in ("images", "generate")}
        assert got == ref, f"seed {SEED} trial {trial}: kills at steps {points} changed the result"
        assert_consistent(out)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["finished"] and (run_id is None or manifest["run_id"] == run_id)
    assert killed >= 16  # the trials really interrupted runs


def test_score_sigkill_trials(tmp_path, reference):
    """20 trials: SIGKILL the scorer at a random write step, resume; identical records and results."""
    rng = random.Random(SEED + 1)
    for trial in range(20):
        out = tmp_path / f"s{trial}"
        shutil.copytree(reference["gen_only"], out)
        n = rng.randint(1, reference["score_steps"])
        res = fakes.run_forked(lambda: score(out), kill_after=n)
        assert res.killed, (SEED, trial, n, res)
        partial = RunStore(out).done_keys("score.fake")
        summary = score(out)
        assert summary["scored_now"] == len(reference["state"]["score.fake"]) - len(partial)
        assert state(out) == reference["state"], f"seed {SEED} trial {trial}: kill at step {n} changed the result"


def test_two_rank_sigkill_then_resume_any_world_size(tmp_path, reference):
    """4 trials with 2 ranks: one rank is killed; rank 0 reports it instead of hanging; the resume (1 or 2
    processes) ends identical to a single-process run, including items whose images came from both ranks."""
    rng = random.Random(SEED + 2)
    ref = {k: v for k, v in reference["state"].items() if k in ("images", "generate")}
    for trial in range(4):
        out = tmp_path / f"d{trial}"
        victim = trial % 2
        # rank 1 makes 3 of the 8 images (16 write steps: batches commit as a group), rank 0 the rest, the merge
        # and the manifest (40)
        n = rng.randint(1, 16 if victim else 40)
        kids = {r: fakes.start_forked(lambda: generate(out), env={"RANK": str(r), "WORLD_SIZE": "2", **FAST_COORD},
                                      kill_after=n if r == victim else None) for r in (1, 0)}
        res = {r: k.wait() for r, k in kids.items()}
        assert res[victim].killed, (SEED, trial, res)
        survivor = res[1 - victim]
        if victim == 1 and survivor.code != 0:  # rank 0 noticed the dead rank and said so
            assert survivor.code == 2 and "rank 1" in survivor.message and "re-run" in survivor.message, survivor
        if trial < 2:
            generate(out)
        else:
            kids = [fakes.start_forked(lambda: generate(out), env={"RANK": str(r), "WORLD_SIZE": "2", **FAST_COORD})
                    for r in (1, 0)]
            assert [k.wait().code for k in kids] == [0, 0]
        got = {k: v for k, v in state(out).items() if k in ("images", "generate")}
        assert got == ref, f"seed {SEED} trial {trial}: rank {victim} killed at step {n}"
        assert_consistent(out)


@pytest.mark.parametrize("stage", ["generate", "score"])
def test_full_disk_clear_error_consistent_store(tmp_path, reference, stage):
    """ENOSPC at a random write: a one-line UserError, the store stays consistent, and a re-run after freeing
    space ends identical to the uninterrupted run."""
    rng = random.Random(SEED + 3)
    for trial in range(3):
        out = tmp_path / f"{stage}{trial}"
        if stage == "score":
            shutil.copytree(reference["gen_only"], out)
        writes = (reference["gen_steps"] if stage == "generate" else reference["score_steps"]) // 3
        faults.configure(enospc_after=rng.randint(1, writes))
        try:
            with pytest.raises(UserError, match="no space left on the device") as err:
                generate(out) if stage == "generate" else score(out)
        finally:
            faults.configure()
        assert "\n" not in str(err.value) and "free disk space" in str(err.value)
        assert not list(out.rglob(".tmp-*"))
        if (out / "records").exists():
            assert_consistent(out)
        generate(out)
        if stage == "score":
            score(out)
            assert state(out) == reference["state"]
        else:
            assert state(out)["images"] == reference["state"]["images"]


def _rewrite_records(run: Path, drop_image: str) -> None:
    f = run / "records" / "generate.r0.jsonl"
    lines = [ln for ln in f.read_text().splitlines(keepends=True) if json.loads(ln)["image"] != drop_image]
    f.write_text("".join(lines))


@pytest.mark.parametrize("damage", ["truncate", "bad-signature", "no-iend", "delete-image", "delete-record", "orphan-tmp"])
def test_damaged_store_is_repaired_on_resume(tmp_path, reference, damage):
    out = tmp_path / "run"
    shutil.copytree(reference["gen_only"], out)
    target = out / "tiles" / "p1" / "1.png"
    data = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(data[: len(data) // 3])
    elif damage == "bad-signature":
        target.write_bytes(b"GIF89a" + data[6:])
    elif damage == "no-iend":
        target.write_bytes(data[:-12] + b"\0" * 12)
    elif damage == "delete-image":  # a record without its image
        target.unlink()
    elif damage == "delete-record":  # an image without its record (killed between rename and append)
        _rewrite_records(out, "tiles/p1/1.png")
    elif damage == "orphan-tmp":
        (target.parent / ".tmp-abc123").write_bytes(data[:100])
    summary = generate(out)
    assert summary["generated"] == (0 if damage == "orphan-tmp" else 1)
    assert state(out, unique=False)["images"] == reference["state"]["images"]
    assert_consistent(out)


def test_mid_file_corruption_needs_verify(tmp_path, reference):
    """A flipped byte inside a PNG keeps size, signature and IEND: the quick check cannot see it, verify can."""
    out = tmp_path / "run"
    shutil.copytree(reference["gen_only"], out)
    target = out / "tiles" / "p2" / "0.png"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    assert generate(out)["generated"] == 0
    report = scan_run(out, RunStore(out).records("generate"), verify=True)
    assert [d[0] for d in report.damaged] == ["tiles/p2/0.png"]
    assert generate(out, verify=True)["generated"] == 1
    assert state(out, unique=False)["images"] == reference["state"]["images"]


def test_score_refuses_missing_image_and_writes_nothing(tmp_path, reference):
    out = tmp_path / "run"
    shutil.copytree(reference["gen_only"], out)
    (out / "tiles" / "p0" / "1.png").unlink()
    with pytest.raises(UserError, match=r"missing or damaged .*tiles/p0/1.png.*lensbench generate"):
        score(out)
    assert not (out / "records" / "score.fake.r0.jsonl").exists() and not (out / "results").exists()
