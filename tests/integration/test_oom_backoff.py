"""CUDA out-of-memory back-off in the generate and score runners (OOM injected by the fakes)."""

from __future__ import annotations

import json

import pytest

from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.runners.generate import run_generate
from lensbench.runners.score import run_score
from lensbench.store.run_store import RunStore
from tests import fakes


@pytest.fixture(autouse=True)
def _fakes():
    fakes.install()


def _cfg(out, batch_size=4):
    return RunConfig(model="tiny", suite="fakegrid", suite_options={"n": 4}, out=str(out), height=64, width=64, steps=2,
                     device="cpu", batch_size=batch_size, progress=False)


def _images(run):
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("tiles/*/*.png"))}


def test_generation_halves_the_batch_records_it_and_keeps_the_smaller_size(tmp_path):
    gen = fakes.FakeGenerator(oom_above=2)
    summary = run_generate(_cfg(tmp_path / "oom"), generator=gen)
    assert summary["generated"] == 8 and summary["oom_backoff"] == {"events": 1, "final_batch_size": 2}
    assert gen.calls == [4, 2, 2, 2, 2]  # the second planned batch goes straight to the size that fit
    recs = RunStore(tmp_path / "oom").records("generate")
    assert {(r["batch_size"], r["planned_batch_size"], r["oom_backoff"]) for r in recs} == {(2, 4, True)}
    manifest = json.loads((tmp_path / "oom" / "manifest.json").read_text())
    assert manifest["oom_backoff"] == {"events": 1, "smallest_batch_size": 2, "ranks": [0]}
    [event] = RunStore(tmp_path / "oom").records("events")
    assert (event["from_batch_size"], event["to_batch_size"], event["stage"]) == (4, 2, "generate")
    assert "CUDA out of memory" in event["error"]


def test_backoff_changes_pixels_only_for_batch_dependent_pipelines(tmp_path):
    """Why each record carries its batch size: a pipeline that is not batch-invariant makes other pixels."""
    run_generate(_cfg(tmp_path / "plain"), generator=fakes.FakeGenerator())
    run_generate(_cfg(tmp_path / "oom"), generator=fakes.FakeGenerator(oom_above=2))
    assert _images(tmp_path / "plain") != _images(tmp_path / "oom")
    run_generate(_cfg(tmp_path / "plain-inv"), generator=fakes.FakeGenerator(batch_invariant=True))
    run_generate(_cfg(tmp_path / "oom-inv"), generator=fakes.FakeGenerator(oom_above=1, batch_invariant=True))
    assert _images(tmp_path / "plain-inv") == _images(tmp_path / "oom-inv")


def test_oom_at_batch_size_one_is_a_user_error_and_the_run_resumes(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(UserError, match="out of memory even at batch size 1 while generating with tiny .* --offload"):
        run_generate(_cfg(out), generator=fakes.FakeGenerator(oom_above=0))
    assert RunStore(out).records("generate") == []
    assert len(RunStore(out).records("events")) == 2  # 4 -> 2 -> 1, then the give-up
    assert run_generate(_cfg(out), generator=fakes.FakeGenerator())["generated"] == 8


def test_scoring_halves_the_batch_and_records_it(tmp_path):
    run = tmp_path / "run"
    run_generate(_cfg(run), generator=fakes.FakeGenerator())
    ref = run_score(run, "fake", progress=False, batch_size=4)["results"]
    for f in (run / "records").glob("score.*"):
        f.unlink()
    out = run_score(run, "fake", {"oom_above": 1}, progress=False, batch_size=4)
    assert out["results"]["metrics"] == ref["metrics"]
    assert out["results"]["extra"]["oom_backoff"] == {"events": 2, "smallest_batch_size": 1, "ranks": [0]}
    recs = RunStore(run).records("score.fake")
    assert len(recs) == 8 and {r["oom_batch_size"] for r in recs} == {1}
