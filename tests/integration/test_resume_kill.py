"""A `generate` process killed with SIGKILL part-way and re-run ends identical to an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow

ARGS = ["--model", "tiny", "--device", "cpu", "--steps", "2", "--height", "64", "--width", "64", "--batch-size", "2",
        "--images-per-prompt", "2", "--no-progress"]


def _suite(tmp_path: Path) -> Path:
    f = tmp_path / "prompts.jsonl"
    f.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"a photo of object number {i}"}) + "\n" for i in range(4)))
    return f


def _cmd(suite: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "lensbench", "generate", "--suite", str(suite), "--out", str(out), *ARGS]


def _env():
    return {**os.environ, "HF_HUB_OFFLINE": "1"}


def _state(run: Path) -> tuple[list[str], dict[str, bytes]]:
    lines = []
    for f in sorted((run / "records").glob("generate.r*.jsonl")):
        lines += [ln for ln in f.read_text().splitlines() if ln.strip()]
    keys = [json.loads(ln)["key"] for ln in lines if ln.endswith("}")]
    images = {str(p.relative_to(run)): p.read_bytes() for p in sorted((run / "images").rglob("*.png"))}
    return keys, images


def _count_records(run: Path) -> int:
    f = run / "records" / "generate.r0.jsonl"
    return f.read_text().count("\n") if f.exists() else 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    suite = _suite(tmp)
    subprocess.run(_cmd(suite, tmp / "run"), check=True, env=_env(), cwd=REPO, timeout=600)
    return suite, _state(tmp / "run")


@pytest.mark.parametrize("kill_after", [1, 3])
def test_sigkill_then_resume_identical(tmp_path, reference, kill_after):
    suite, (ref_keys, ref_images) = reference
    out = tmp_path / "run"
    proc = subprocess.Popen(_cmd(suite, out), env=_env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _count_records(out) < kill_after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _count_records(out)
    assert killed_at < len(ref_keys), "process finished before it could be killed; test is not exercising resume"
    subprocess.run(_cmd(suite, out), check=True, env=_env(), cwd=REPO, timeout=600)
    keys, images = _state(out)
    assert sorted(keys) == sorted(ref_keys) and len(keys) == len(set(keys))  # none missing, none duplicated
    assert images.keys() == ref_images.keys()
    assert all(images[k] == ref_images[k] for k in images), "resumed images differ from the uninterrupted run"
    assert not list(out.rglob(".tmp-*"))
