"""Issue 17 (hardening) and issue 13 items 3/8: the behaviours that are not a one-line refusal (those are in the
table of tests/integration/test_bad_inputs.py): a swapped image is found and remade, a crafted record never makes
lensbench touch a file outside the run, a failed first attempt does not pin its settings, pass-through model
options are recorded, a custom JSONL suite is re-read from its recorded path, files honour the umask, Ctrl-C says
what was kept, and remedies name a command that can fix the problem."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from lensbench.config import RunConfig
from lensbench.errors import UserError, short_cause
from lensbench.runners.generate import run_generate
from lensbench.runners.repair import repair
from lensbench.runners.score import run_score
from lensbench.store.run_store import RunStore
from tests import fakes
from tests.helpers import REPO, assert_user_error, run_cli_inprocess


def cfg(out: Path, **kw) -> RunConfig:
    base = dict(model="tiny", suite="smoke", out=str(out), height=64, width=64, steps=2, device="cpu", progress=False)
    return RunConfig(**{**base, **kw})


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".lock")}


@pytest.fixture()
def run(tmp_path):
    fakes.install()
    out = tmp_path / "run"
    run_generate(cfg(out), generator=fakes.FakeGenerator())
    return out


def test_verify_detects_a_swapped_image_and_fix_remakes_it(run):
    recs = {r["image"]: r for r in RunStore(run).records("generate")}
    victim = sorted(recs)[0]
    original = (run / victim).read_bytes()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(run / victim)  # another valid PNG: only the sha256 tells
    p = run_cli_inprocess("verify", str(run))
    assert p.returncode == 1 and f"damaged  {victim}: size " in p.stdout, p.stdout
    assert "--fix" in p.stdout
    out = repair(run, generator=fakes.FakeGenerator())
    assert out["regenerated"] == 1 and out["after"]["ok"] and out["after"]["damaged"] == []
    assert (run / victim).read_bytes() == original  # the image the record describes, made again
    assert run_cli_inprocess("verify", str(run)).returncode == 0


def test_a_crafted_record_never_reaches_outside_the_run(run, tmp_path):
    outside = tmp_path / "precious.png"
    Image.new("RGB", (8, 8)).save(outside)
    before = outside.read_bytes()
    rec = dict(RunStore(run).records("generate")[0], image="../precious.png", sha256="0" * 64, bytes=1)
    with open(run / "records" / "generate.r0.jsonl", "a") as fh:
        fh.write(json.dumps(rec) + "\n")
    p = run_cli_inprocess("verify", str(run))
    assert p.returncode == 1 and "../precious.png: path outside the run directory" in p.stdout
    out = repair(run, generator=fakes.FakeGenerator())
    assert out["left_alone"] == ["../precious.png"] and outside.read_bytes() == before
    with pytest.raises(UserError, match="points outside the run directory"):
        RunStore(run).path("../precious.png")
    with pytest.raises(UserError, match="points outside the run directory"):
        RunStore(run).path(str(outside))


def test_a_run_that_produced_nothing_does_not_pin_its_settings(tmp_path):
    fakes.install()

    class Broken(fakes.FakeGenerator):
        def generate(self, requests, step_callback=None):
            raise RuntimeError("pipeline crashed on the first batch")

    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        run_generate(cfg(out, steps=3), generator=Broken())
    assert (out / "manifest.json").exists() and not RunStore(out).done_keys("generate")
    s = run_generate(cfg(out, steps=2), generator=fakes.FakeGenerator())  # the corrected command is accepted
    assert s["generated"] == s["planned"] > 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["generation"]["steps"] == 2
    with pytest.raises(UserError, match="steps 2 -> 3"):  # now that it holds images, it is bound to them
        run_generate(cfg(out, steps=3), generator=fakes.FakeGenerator())


def test_manifest_records_threads_batch_size_and_the_plan(run):
    m = json.loads((run / "manifest.json").read_text())
    g = m["generation"]
    assert g["threads"] == 1 and g["batch_size"] == 1
    assert m["planned"]["images"] == len(RunStore(run).records("generate")) == m["planned"]["prompts"] * \
        m["planned"]["images_per_prompt"]


def test_pass_through_model_option_is_recorded_and_sent(tmp_path):
    fakes.install()
    seen = []

    class Spy(fakes.FakeGenerator):
        def generate(self, requests, step_callback=None):
            seen.extend(dict(r.extra) for r in requests)
            return super().generate(requests, step_callback)

        def validate(self, requests):
            pass

    out = tmp_path / "run"
    run_generate(cfg(out, model_options={"pass.max_sequence_length": 77}), generator=Spy())
    assert seen and all(e == {"max_sequence_length": 77} for e in seen)
    m = json.loads((out / "manifest.json").read_text())
    assert m["generation"]["model_options"]["pass.max_sequence_length"] == 77
    plain = tmp_path / "plain"
    run_generate(cfg(plain), generator=fakes.FakeGenerator())
    keys = lambda d: {r["key"] for r in RunStore(d).records("generate")}  # noqa: E731
    assert not keys(out) & keys(plain)  # another call argument, other work items


def test_custom_jsonl_suite_is_rescored_from_its_recorded_file(tmp_path, monkeypatch):
    fakes.install()
    suite = tmp_path / "data" / "mytext.jsonl"
    suite.parent.mkdir()
    suite.write_text('{"id": "a", "prompt": "a sign saying hello"}\n{"id": "b", "prompt": "a sign saying bye"}\n')
    monkeypatch.chdir(tmp_path / "data")
    run_generate(cfg(tmp_path / "run", suite="mytext.jsonl"), generator=fakes.FakeGenerator())
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["suite"]["path"] == str(suite) and m["suite"]["sha256"] == hashlib.sha256(suite.read_bytes()).hexdigest()
    monkeypatch.chdir(tmp_path)  # another working directory: the recorded absolute path still finds it
    out = run_score(tmp_path / "run", "fake", progress=False)
    assert out["units"] == 2 and out["results"]["suite"]["name"] == "mytext"
    suite.write_text('{"id": "a", "prompt": "changed"}\n')
    with pytest.raises(UserError, match="changed since the run was generated"):
        run_score(tmp_path / "run", "fake", progress=False)


def test_files_honour_the_umask(tmp_path):
    fakes.install()
    old = os.umask(0o022)
    try:
        import lensbench.store.atomic as atomic

        atomic._UMASK.clear()
        run_generate(cfg(tmp_path / "run"), generator=fakes.FakeGenerator())
    finally:
        os.umask(old)
        atomic._UMASK.clear()
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").rglob("*") if p.is_file()}
    pngs = [m for n, m in modes.items() if n.endswith(".png")]
    assert pngs and set(pngs) == {0o644} and modes["manifest.json"] == 0o644, modes


def test_short_cause_never_cuts_mid_word():
    exc = ValueError("Error no file named diffusion_pytorch_model.safetensors found in directory " + "x" * 30 + " more")
    text = short_cause(exc, 60)
    assert text.endswith(" ...") and text[:-4] in str(exc) and str(exc)[len(text) - 4] == " "


def test_wrong_pipeline_type_under_model_path_is_named(tmp_path):
    from lensbench.generators import MODELS
    from lensbench.generators.loading import missing_weights_error

    d = tmp_path / "ckpt"
    d.mkdir()
    (d / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    msg = str(missing_weights_error(MODELS.get("tiny-z-image"), str(d), OSError("no file named config.json")))
    assert "holds a FluxPipeline checkpoint, but tiny-z-image loads a ZImagePipeline" in msg
    assert "lensbench fetch" not in msg and "could not be found" not in msg


def test_doctor_names_pip_for_a_missing_package_not_fetch(monkeypatch):
    from lensbench.errors import MissingPackageError
    from lensbench.offline import doctor

    class Scorer:
        def load(self):
            raise MissingPackageError("the DPG-Bench VQA backend needs the Python package 'modelscope'",
                                      "pip install modelscope fairseq timm")

    monkeypatch.setattr("lensbench.scorers.make_scorer", lambda name, options: Scorer())
    (check,) = doctor.scorer_checks("dpg", {}, load=True)
    assert check.status == "missing" and check.fix == "pip install modelscope fairseq timm"


def test_geneval_remedy_names_only_flags_every_command_has(monkeypatch, tmp_path):
    from lensbench.suites import geneval

    monkeypatch.setenv("LENSBENCH_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        geneval.download_metadata(tmp_path)
    assert "--geneval-metadata" not in str(err.value) and "-S metadata=PATH" in str(err.value)


@pytest.mark.slow
def test_ctrl_c_says_what_was_kept_and_exits_130(tmp_path):
    """SIGINT part-way through a real `lensbench generate` (tiny model): one line, exit 130, resumable."""
    suite = tmp_path / "p.jsonl"
    suite.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"object {i}"}) + "\n" for i in range(400)))
    out = tmp_path / "run"
    args = [sys.executable, "-m", "lensbench", "generate", "--model", "tiny", "--suite", str(suite), "--out", str(out),
            "--height", "64", "--width", "64", "--steps", "2", "--device", "cpu", "--no-progress"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # a shell that started pytest in the background hands its children SIGINT ignored: restore the default
    # so the child sees Ctrl-C as a user's terminal delivers it
    proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    rec = out / "records" / "generate.r0.jsonl"
    deadline = time.time() + 300
    while (not rec.exists() or rec.read_text().count("\n") < 2) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    p = subprocess.CompletedProcess(args, proc.returncode, "", err)
    assert proc.returncode == 130, err
    line = err.strip().splitlines()[-1]
    assert len([ln for ln in err.strip().splitlines() if ln.strip()]) == 1 and "Traceback" not in err, err
    assert line.startswith("error: interrupted;") and "of 400 images are finished and kept" in line
    assert "re-run the same command" in line
    del p
