"""Offline GPU-node workflow end to end: `lensbench fetch` on the "networked" side (a fake Hub serving a tiny
pipeline into an HF cache), then `doctor --offline` and `generate` with HF_HUB_OFFLINE=1 in fresh processes
that see only that cache."""

from __future__ import annotations

import pytest

from tests.helpers import run_cli, run_cli_inprocess
from tests.unit.test_offline import FakeHub, _tiny_build

pytestmark = pytest.mark.slow


def test_fetch_then_doctor_and_generate_offline(tmp_path, monkeypatch):
    import huggingface_hub

    from lensbench.offline import hub

    cache = tmp_path / "hf"
    fake = FakeHub(cache, {"acme/tiny-sd": _tiny_build()})

    class Api:
        def list_repo_files(self, repo_id, **kw):
            return fake.list_repo_files(repo_id, **kw)

    monkeypatch.setattr(huggingface_hub, "HfApi", Api)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake.snapshot_download)
    monkeypatch.setattr(hub, "cache_dir", lambda: str(cache))
    p = run_cli_inprocess("fetch", "tiny", "--repo", "acme/tiny-sd", env={"HF_HUB_OFFLINE": None})
    assert p.returncode == 0, p.stderr
    assert "model  tiny:" in p.stdout and "models--acme--tiny-sd" in p.stdout

    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    doctor = run_cli("doctor", "--offline", "--model", "tiny", "--model-path", "acme/tiny-sd", "--suite", "smoke", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "ok       tiny: weights: acme/tiny-sd complete in the HF cache" in doctor.stdout

    gen = run_cli("generate", "--model", "tiny", "--model-path", "acme/tiny-sd", "--suite", "smoke", "--limit", "1",
                  "--steps", "2", "--device", "cpu", "--no-progress", "--out", str(tmp_path / "run"), env=env)
    assert gen.returncode == 0, gen.stderr
    assert len(list((tmp_path / "run").rglob("*.png"))) == 1

    missing = run_cli("doctor", "--offline", "--model", "tiny", "--model-path", "acme/other", env=env)
    assert missing.returncode == 1 and "acme/other not in the HF cache" in missing.stdout
