"""Table of bad inputs: each is one line `error: ...` naming the fix, exit code 2, no traceback, and nothing an
earlier run produced is touched (the run directory is hashed before and after). The README's troubleshooting
table lists the same cases.

Most cases run the CLI in-process (tests.helpers.run_cli_inprocess: same `main`, exit code and stderr as a user
sees, without paying the torch import per case); the cases that need a fresh process run as subprocesses."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from lensbench.config import RunConfig
from lensbench.runners.generate import run_generate
from tests import fakes
from tests.helpers import assert_user_error, run_cli, run_cli_inprocess

SAME = ["--model", "tiny", "--suite", "smoke", "--height", "64", "--width", "64", "--steps", "2", "--device", "cpu",
        "--no-progress"]


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file except lock files (a failed command may note its pid in .lock.r0)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".lock")}


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    fakes.install()
    root = tmp_path_factory.mktemp("bad")
    run = root / "run"
    run_generate(RunConfig(model="tiny", suite="smoke", out=str(run), height=64, width=64, steps=2, device="cpu",
                           progress=False), generator=fakes.FakeGenerator())
    broken = root / "broken-manifest"
    shutil.copytree(run, broken)
    (broken / "manifest.json").write_text('{"run_id": "x", "suite": ')
    holed = root / "missing-image"
    shutil.copytree(run, holed)
    next(holed.rglob("*.png")).unlink()
    (root / "bad.jsonl").write_text('{"id": "a", "prompt": "a cat"}\n{"id": "b" "prompt": "a dog"}\n')
    (root / "bad.toml").write_text('model = "tiny"\nsteps = [2\n')
    (root / "keys.toml").write_text('model = "tiny"\nstepz = 3\n')
    (root / "grid.toml").write_text('name = "g"\n[axes\nsteps = [1, 2]\n')
    (root / "dpg-prompts").mkdir()
    (root / "dpg-prompts" / "1.txt").write_text("a red cube")
    (root / "a-file").write_text("not a directory")
    _hardening_files(root)
    return {"root": root, "run": run, "broken": broken, "holed": holed}


BINARY = bytes(range(256)) * 4  # NUL bytes and invalid UTF-8


def _jsonl(path: Path, ids: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": i, "prompt": f"a photo of {i!r}"}) + "\n" for i in ids))


def _hardening_files(root: Path) -> None:
    """Files for the issue-17 / issue-13 cases (bad files of every kind)."""
    _jsonl(root / "collide.jsonl", ["a/b", "a_b"])
    _jsonl(root / "case.jsonl", ["Cat", "cat"])
    _jsonl(root / "dotdot.jsonl", ["ok", ".."])
    (root / "dup.jsonl").write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": "y"}\n{"id": "a", "prompt": "z"}\n')
    (root / "binary.jsonl").write_bytes(BINARY)
    (root / "adir.jsonl").mkdir()
    (root / "binary.toml").write_bytes(BINARY)
    (root / "adir.toml").mkdir()
    (root / "list.json").write_text("[1, 2]")
    (root / "guidance-str.json").write_text('{"model": "tiny", "guidance": "high"}')
    for name, body in {"bs-str": 'batch_size = "2"', "steps-str": 'steps = "abc"', "steps-list": 'steps = ["a", "b"]',
                       "bs-float": "batch_size = 2.5", "trc": 'model = "tiny"\ntrust_remote_code = true'}.items():
        (root / f"{name}.toml").write_text(body + "\n")
    grid = 'suite = "smoke"\n[base]\nmodel = "tiny"\nheight = 64\nwidth = 64\ndevice = "cpu"\n{base}[axes]\nsteps = [2, 3]\n{extra}'
    for name, base, extra in (("g-trc", "trust_remote_code = true\n", ""), ("g-steps", 'seed = "abc"\n', ""),
                              ("g-scorer", "", '[score]\nscorer = "genevl"\n'),
                              ("g-opt", "model_options = { foo = 1 }\n", ""),
                              ("g-core", "model_options = { num_inference_steps = 1 }\n", ""),
                              ("g-cell", "", '[[cells]]\nname = ".."\nsteps = 4\n'),
                              ("g-control-type", "", ""),
                              ("g-name", "", "")):
        text = grid.format(base=base, extra=extra)
        if name == "g-name":
            text = 'name = "../../evil"\n' + text
        if name == "g-control-type":
            text = "control = 5\n" + text
        (root / f"{name}.toml").write_text(text)
    (root / "empty-weights" / "HunyuanImage-3").mkdir(parents=True)
    (root / "sd-checkpoint").mkdir()
    (root / "sd-checkpoint" / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    bases = root / "baselines-binary"
    bases.mkdir()
    (bases / "models.toml").write_bytes(BINARY)
    typed = root / "baselines-typed"
    typed.mkdir()
    (typed / "models.toml").write_text('[[model]]\nname = "m"\ndisplay = "M"\n')
    (typed / "b.toml").write_text('schema_version = 1\n[[entry]]\nmodel = "m"\nmetric = "geneval"\nvalue = "0.5"\n'
                                  'source = "paper"\nmeasured_by = "authors"\nref = "r"\nuncertain = "yes"\n')


# (id, argv with {run}/{root}/{new} placeholders, extra env, fragments the one-line error must contain)
CASES = [
    ("unknown-model", ["generate", "--model", "lens-trubo", "--suite", "smoke", "--out", "{new}"], {},
     ["unknown model 'lens-trubo'", "did you mean 'lens-turbo'"]),
    ("impossible-resolution", ["generate", *SAME, "--height", "70", "--out", "{new}"], {},
     ["64x70 (WxH) is not a valid size for tiny", "--height 64 --width 64"]),
    ("unknown-resolution-preset", ["generate", "--model", "tiny", "--resolution", "5:4", "--out", "{new}"], {},
     ["no resolution preset '5:4'", "presets:"]),
    ("malformed-suite-file", ["generate", *SAME, "--suite", "{root}/bad.jsonl", "--out", "{new}"], {},
     ["bad.jsonl:2", "fix that line"]),
    ("missing-suite-file", ["generate", *SAME, "--suite", "{root}/none.jsonl", "--out", "{new}"], {},
     ["none.jsonl does not exist"]),
    ("unknown-suite", ["generate", *SAME, "--suite", "genevall", "--out", "{new}"], {}, ["did you mean 'geneval'"]),
    ("malformed-config-toml", ["generate", "--config", "{root}/bad.toml", "--out", "{new}"], {},
     ["config file", "bad.toml is malformed"]),
    ("unknown-config-key", ["generate", "--config", "{root}/keys.toml", "--out", "{new}"], {},
     ["unknown config keys ['stepz']", "known keys:"]),
    ("malformed-ablation-grid", ["ablate", "{root}/grid.toml", "--dry-run", "--out", "{new}"], {},
     ["grid.toml is not valid TOML"]),
    ("missing-geneval-metadata", ["generate", *SAME, "--suite", "geneval", "-S", "metadata={root}/none.jsonl",
                                  "--out", "{new}"], {}, ["GenEval metadata file", "does not exist"]),
    ("missing-dpg-prompts", ["generate", *SAME, "--suite", "dpg", "-S", "prompts={root}/none", "--out", "{new}"], {},
     ["DPG-Bench prompts folder", "-S prompts=DIR"]),
    ("missing-dpg-csv", ["generate", *SAME, "--suite", "dpg", "-S", "prompts={root}/dpg-prompts", "-S",
                         "csv={root}/none.csv", "--out", "{new}"], {}, ["question CSV", "fix -S csv=PATH"]),
    ("unknown-dtype", ["generate", *SAME, "--dtype", "fp8", "--out", "{new}"], {}, ["unknown --dtype 'fp8'", "bfloat16"]),
    ("bad-offload", ["generate", *SAME, "--offload", "gpu", "--out", "{new}"], {}, ["--offload must be none, model or sequential"]),
    ("negative-steps", ["generate", *SAME, "--steps", "-3", "--out", "{new}"], {}, ["--steps must be at least 1"]),
    ("zero-batch-size", ["generate", *SAME, "--batch-size", "0", "--out", "{new}"], {}, ["--batch-size must be at least 1"]),
    ("unknown-device", ["generate", *SAME, "--device", "tpu", "--out", "{new}"], {}, ["unknown --device 'tpu'"]),
    ("cuda-absent", ["generate", "--model", "tiny", "--suite", "smoke", "--device", "cuda", "--out", "{new}"], {},
     ["CUDA is not available", "--device cpu"]),
    ("bad-key-value", ["generate", *SAME, "-S", "novalue", "--out", "{new}"], {}, ["--suite-option takes KEY=VALUE"]),
    ("unwritable-directory", ["generate", *SAME, "--out", "{root}/a-file/run"], {}, ["not writable", "--out"]),
    ("changed-settings-same-dir", ["generate", *SAME, "--steps", "3", "--out", "{run}"], {},
     ["already holds a run with different settings", "new --out"]),
    ("concurrent-run", ["generate", *SAME, "--out", "{run}"], {}, ["is in use by", "wait for it to finish"]),
    ("bad-torchrun-env", ["generate", *SAME, "--out", "{run}"], {"RANK": "2", "WORLD_SIZE": "2"},
     ["bad torchrun environment: RANK=2 WORLD_SIZE=2", "launch with torchrun"]),
    ("torchrun-env-without-rank", ["score", "{run}", "--scorer", "fake"], {"WORLD_SIZE": "2", "RANK": None},
     ["RANK is not", "launch with torchrun"]),
    ("unknown-scorer", ["score", "{run}", "--scorer", "genevl"], {}, ["unknown scorer 'genevl'", "did you mean"]),
    ("score-zero-batch-size", ["score", "{run}", "--scorer", "fake", "--batch-size", "0"], {},
     ["--batch-size must be at least 1"]),
    ("score-negative-limit", ["score", "{run}", "--scorer", "fake", "--limit", "-2"], {}, ["--limit must be at least 1"]),
    ("score-missing-run", ["score", "{root}/none", "--scorer", "fake"], {}, ["none does not exist", "generate first"]),
    ("score-corrupt-manifest", ["score", "{root}/broken-manifest", "--scorer", "fake"], {},
     ["manifest.json is unreadable", "restore it"]),
    ("score-missing-image", ["score", "{root}/missing-image", "--scorer", "fake"], {},
     ["missing or damaged", "re-run `lensbench generate` with the same settings"]),
    ("fetch-unknown-name", ["fetch", "lens-trubo"], {}, ["unknown model, suite or scorer 'lens-trubo'"]),
    ("fetch-while-offline", ["fetch", "z-image-turbo"], {"HF_HUB_OFFLINE": "1"}, ["HF_HUB_OFFLINE=1 is set"]),
    ("doctor-unknown-model", ["doctor", "--model", "qwen-imag"], {}, ["did you mean 'qwen-image'"]),
]

# issue 17 (hardening) and issue 13 items 3, 7, 8: data loss, escapes, crashes, typed files
HARDENING = [
    # an existing run is never overwritten with another output-affecting setting (names what changed)
    ("finished-run-other-seed", ["generate", *SAME, "--seed", "7", "--out", "{run}"], {},
     ["already holds a run with different settings", "seed 42 -> 7", "new --out"]),
    ("finished-run-other-batch-size", ["generate", *SAME, "--batch-size", "2", "--out", "{run}"], {},
     ["already holds a run with different settings", "batch_size 1 -> 2"]),
    ("finished-run-other-threads", ["generate", *SAME, "--threads", "2", "--out", "{run}"], {},
     ["already holds a run with different settings", "threads 1 -> 2"]),
    ("finished-run-other-model-option", ["generate", *SAME, "-M", "scheduler_shift=2.0", "--out", "{run}"], {},
     ["already holds a run with different settings", "model_options"]),
    # ids map injectively to paths inside the run directory
    ("ids-collide", ["generate", *SAME, "--suite", "{root}/collide.jsonl", "--out", "{new}"], {},
     ["'a/b' and 'a_b' map to the same image file"]),
    ("ids-differ-only-in-case", ["generate", *SAME, "--suite", "{root}/case.jsonl", "--out", "{new}"], {},
     ["'Cat' and 'cat' map to the same image file", "ignoring case"]),
    ("id-dotdot", ["generate", *SAME, "--suite", "{root}/dotdot.jsonl", "--out", "{new}"], {},
     ["suite item id '..'", "outside the run directory"]),
    ("suite-duplicate-id", ["generate", *SAME, "--suite", "{root}/dup.jsonl", "--out", "{new}"], {},
     ["dup.jsonl:3: duplicate id 'a' (first on line 1)"]),
    # -M must not override core settings behind the record; unknown keys are refused
    ("M-num-inference-steps", ["generate", *SAME, "-M", "num_inference_steps=1", "--out", "{new}"], {},
     ["-M num_inference_steps=1 names a core setting", "use the flag --steps"]),
    ("M-height", ["generate", *SAME, "-M", "height=32", "--out", "{new}"], {}, ["use the flag --height"]),
    ("M-width", ["generate", *SAME, "-M", "width=32", "--out", "{new}"], {}, ["use the flag --width"]),
    ("M-guidance-scale", ["generate", *SAME, "-M", "guidance_scale=9", "--out", "{new}"], {}, ["use the flag --guidance"]),
    ("M-generator", ["generate", *SAME, "-M", "generator=1", "--out", "{new}"], {}, ["use the flag --seed"]),
    ("M-output-type", ["generate", *SAME, "-M", "output_type=latent", "--out", "{new}"], {},
     ["(output_type)", "lensbench sets it itself"]),
    ("M-pass-core", ["generate", *SAME, "-M", "pass.num_inference_steps=1", "--out", "{new}"], {}, ["use the flag --steps"]),
    ("M-unknown", ["generate", *SAME, "-M", "foo=bar", "--out", "{new}"], {},
     ["unknown model option foo for tiny", "known: scheduler_shift", "-M pass.foo=VALUE"]),
    ("M-unknown-lens", ["generate", "--model", "lens-turbo", "--suite", "smoke", "-M", "reasoner=1", "--out", "{new}"], {},
     ["unknown model option reasoner for lens-turbo", "enable_reasoner"]),
    # flags that used to crash or pass silently
    ("guidance-nan", ["generate", *SAME, "--guidance", "nan", "--out", "{new}"], {}, ["--guidance must be a finite number"]),
    ("guidance-inf", ["generate", *SAME, "--guidance", "inf", "--out", "{new}"], {}, ["--guidance must be a finite number"]),
    ("seed-2-70", ["generate", *SAME, "--seed", str(2**70), "--out", "{new}"], {}, ["--seed must lie in 0.."]),
    ("seed-negative", ["generate", *SAME, "--seed", "-1", "--out", "{new}"], {}, ["--seed must lie in 0.."]),
    ("seed-overflows-with-images", ["generate", *SAME, "--seed", str(2**63 - 1), "-n", "2", "--out", "{new}"], {},
     ["exceeds the largest seed"]),
    ("height-abc", ["generate", *SAME, "--height", "abc", "--out", "{new}"], {}, ["Invalid value for '--height'", "--help"]),
    ("steps-abc", ["generate", *SAME, "--steps", "abc", "--out", "{new}"], {}, ["Invalid value for '--steps'"]),
    ("no-such-flag", ["generate", *SAME, "--stepz", "2", "--out", "{new}"], {}, ["No such option"]),
    ("threads-zero", ["generate", *SAME, "--threads", "0", "--out", "{new}"], {}, ["--threads must be at least 1"]),
    ("height-zero", ["generate", *SAME, "--height", "0", "--out", "{new}"], {}, ["--height must be at least 1"]),
    ("model-min-steps", ["generate", *SAME, "--model", "tiny-qwen-image", "--steps", "1", "--out", "{new}"], {},
     ["tiny-qwen-image needs at least 2 steps", "--steps 2"]),
    ("hunyuan-empty-dir", ["generate", "--model", "hunyuan-image-3", "--trust-remote-code", "--device", "cpu",
                           "--model-path", "{root}/empty-weights/HunyuanImage-3", "--suite", "smoke", "--out", "{new}"], {},
     ["cannot load hunyuan-image-3 from the directory", "published layout"]),
    ("wrong-pipeline-under-model-path", ["generate", *SAME, "--model", "tiny-z-image", "--model-path",
                                         "{root}/sd-checkpoint", "--out", "{new}"], {},
     ["holds a StableDiffusionPipeline checkpoint, but tiny-z-image loads a ZImagePipeline"]),
    # files of every kind: binary, a directory, wrong top level, wrong types (naming key, type and file)
    ("suite-binary", ["generate", *SAME, "--suite", "{root}/binary.jsonl", "--out", "{new}"], {},
     ["suite file", "binary.jsonl is a binary file"]),
    ("suite-directory", ["generate", *SAME, "--suite", "{root}/adir.jsonl", "--out", "{new}"], {},
     ["adir.jsonl is a directory"]),
    ("metadata-binary", ["generate", *SAME, "--suite", "geneval", "-S", "metadata={root}/binary.jsonl", "--out", "{new}"],
     {}, ["GenEval metadata file", "is a binary file"]),
    ("metadata-directory", ["generate", *SAME, "--suite", "geneval", "-S", "metadata={root}/adir.jsonl", "--out", "{new}"],
     {}, ["GenEval metadata file", "is a directory"]),
    ("config-binary", ["generate", "--config", "{root}/binary.toml", "--out", "{new}"], {}, ["binary.toml is a binary file"]),
    ("config-directory", ["generate", "--config", "{root}/adir.toml", "--out", "{new}"], {}, ["adir.toml is a directory"]),
    ("config-json-list", ["generate", "--config", "{root}/list.json", "--out", "{new}"], {},
     ["list.json must hold a table", "not a list"]),
    ("config-batch-size-string", ["generate", "--config", "{root}/bs-str.toml", "--out", "{new}"], {},
     ["bs-str.toml: batch_size = \"2\" has the wrong type (string); expected int"]),
    ("config-steps-string", ["generate", "--config", "{root}/steps-str.toml", "--out", "{new}"], {},
     ["steps-str.toml: steps = \"abc\"", "has the wrong type (string); expected int"]),
    ("config-steps-list", ["generate", "--config", "{root}/steps-list.toml", "--out", "{new}"], {},
     ["steps = [\"a\", \"b\"] has the wrong type (list)"]),
    ("config-batch-size-float", ["generate", "--config", "{root}/bs-float.toml", "--out", "{new}"], {},
     ["batch_size = 2.5 has the wrong type (number); expected int"]),
    ("config-guidance-string-json", ["generate", "--config", "{root}/guidance-str.json", "--out", "{new}"], {},
     ["guidance = \"high\"", "expected float"]),
    ("config-trust-remote-code", ["generate", "--config", "{root}/trc.toml", "--out", "{new}"], {},
     ["trc.toml sets trust_remote_code", "--trust-remote-code on the command line"]),
    ("doctor-config-binary", ["doctor", "--config", "{root}/binary.toml"], {}, ["binary.toml is a binary file"]),
    ("grid-binary", ["ablate", "{root}/binary.toml", "--dry-run", "--out", "{new}"], {}, ["grid file", "is a binary file"]),
    ("grid-directory", ["ablate", "{root}/adir.toml", "--dry-run", "--out", "{new}"], {}, ["grid file", "is a directory"]),
    ("grid-trust-remote-code", ["ablate", "{root}/g-trc.toml", "--no-score", "--out", "{new}"], {},
     ["[base] sets trust_remote_code", "--trust-remote-code on the command line"]),
    ("grid-wrong-type", ["ablate", "{root}/g-steps.toml", "--no-score", "--out", "{new}"], {},
     ["g-steps.toml [base]: seed = \"abc\" has the wrong type (string); expected int"]),
    ("grid-wrong-top-level-type", ["ablate", "{root}/g-control-type.toml", "--no-score", "--out", "{new}"], {},
     ["g-control-type.toml: control = 5 has the wrong type (number)"]),
    ("grid-name-escapes", ["ablate", "{root}/g-name.toml", "--no-score"], {},
     ["name '../../evil' is not a plain directory name"]),
    ("grid-cell-name-dotdot", ["ablate", "{root}/g-cell.toml", "--no-score", "--out", "{new}"], {},
     ["cell name '..' is not a plain directory name"]),
    ("grid-unknown-scorer-before-images", ["ablate", "{root}/g-scorer.toml", "--out", "{new}"], {},
     ["unknown scorer 'genevl'"]),
    ("grid-unknown-model-option", ["ablate", "{root}/g-opt.toml", "--no-score", "--out", "{new}"], {},
     ["unknown model option foo for tiny"]),
    ("grid-core-model-option", ["ablate", "{root}/g-core.toml", "--no-score", "--out", "{new}"], {},
     ["names a core setting", "--steps"]),
    ("baseline-binary", ["report", "--published", "--baselines", "{root}/baselines-binary", "--no-charts", "--out", "{new}"],
     {}, ["baseline file", "is a binary file"]),
    ("baseline-wrong-type", ["report", "--published", "--baselines", "{root}/baselines-typed", "--no-charts", "--out",
                             "{new}"], {}, ["b.toml entry 1", "uncertain = \"yes\" has the wrong type (string); expected bool"]),
    ("verify-missing-run", ["verify", "{root}/none"], {}, ["none does not exist"]),
    ("verify-missing-argument", ["verify"], {}, ["Missing argument"]),
]
CASES += HARDENING


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, dirs, tmp_path, monkeypatch):
    name, argv, env, fragments = case
    new = tmp_path / "new-run"
    args = [a.format(run=dirs["run"], root=dirs["root"], new=new) for a in argv]
    work = tmp_path / "cwd"  # relative default outputs (runs/..., reports/...) land here, never in the checkout
    work.mkdir()
    monkeypatch.chdir(work)
    before = {k: snapshot(dirs[k]) for k in ("run", "broken", "holed", "root")}
    lock = None
    if name == "concurrent-run":  # another process holds the run directory
        lock = open(dirs["run"] / ".lock.r0", "a+")
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        proc = run_cli_inprocess(*args, env=env)
    finally:
        if lock is not None:
            lock.close()
    assert_user_error(proc, *fragments)
    assert {k: snapshot(dirs[k]) for k in ("run", "broken", "holed", "root")} == before, "an earlier run was modified"
    assert not (new / "manifest.json").exists() and not list(new.rglob("*.png"))
    assert not list(work.rglob("*.png")) and not list(tmp_path.parent.glob("evil*")), "something was written elsewhere"


@pytest.mark.slow
def test_missing_weights_offline_in_a_fresh_process(dirs, tmp_path):
    """A fresh process, as on a GPU node: HF_HUB_OFFLINE=1 and the weights were never fetched."""
    p = run_cli("generate", "--model", "z-image-turbo", "--device", "cpu", "--suite", "smoke", "--out", str(tmp_path / "r"),
                env={"HF_HUB_CACHE": str(tmp_path / "empty-cache")})
    assert_user_error(p, "cannot load weights for z-image-turbo", "offline", "lensbench fetch z-image-turbo")
    assert not (tmp_path / "r" / "manifest.json").exists()
