"""Table of bad inputs: each is one line `error: ...` naming the fix, exit code 2, no traceback, and nothing an
earlier run produced is touched (the run directory is hashed before and after). The README's troubleshooting
table lists the same cases.

Most cases run the CLI in-process (tests.helpers.run_cli_inprocess: same `main`, exit code and stderr as a user
sees, without paying the torch import per case); the cases that need a fresh process run as subprocesses."""

from __future__ import annotations

import fcntl
import hashlib
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
    return {"root": root, "run": run, "broken": broken, "holed": holed}


# (id, argv with {run}/{root}/{new} placeholders, extra env, fragments the one-line error must contain)
CASES = [
    ("unknown-model", ["generate", "--model", "lens-trubo", "--suite", "smoke", "--out", "{new}"], {},
     ["unknown model 'lens-trubo'", "did you mean 'lens-turbo'"]),
    ("impossible-resolution", ["generate", *SAME, "--height", "70", "--out", "{new}"], {},
     ["70x64 is not a valid size for tiny", "--height 64 --width 64"]),
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


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, dirs, tmp_path):
    name, argv, env, fragments = case
    new = tmp_path / "new-run"
    args = [a.format(run=dirs["run"], root=dirs["root"], new=new) for a in argv]
    before = {k: snapshot(dirs[k]) for k in ("run", "broken", "holed")}
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
    assert {k: snapshot(dirs[k]) for k in ("run", "broken", "holed")} == before, "an earlier run was modified"
    assert not (new / "manifest.json").exists() and not list(new.rglob("*.png"))


@pytest.mark.slow
def test_missing_weights_offline_in_a_fresh_process(dirs, tmp_path):
    """A fresh process, as on a GPU node: HF_HUB_OFFLINE=1 and the weights were never fetched."""
    p = run_cli("generate", "--model", "z-image-turbo", "--device", "cpu", "--suite", "smoke", "--out", str(tmp_path / "r"),
                env={"HF_HUB_CACHE": str(tmp_path / "empty-cache")})
    assert_user_error(p, "cannot load weights for z-image-turbo", "offline", "lensbench fetch z-image-turbo")
    assert not (tmp_path / "r" / "manifest.json").exists()
