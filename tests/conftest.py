from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Offline before any test module is collected: huggingface_hub reads HF_HUB_OFFLINE once, at its first import
# (a test module importing transformers at collection time would otherwise leave it online for the session).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
SHARED_DATA = Path(os.environ.get("LENSBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Official benchmark data (GenEval metadata, DPG-Bench prompts); read-only, never copied into the repo."""
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set LENSBENCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
