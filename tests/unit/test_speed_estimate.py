"""`generate --dry-run --speed-run` estimates: only the denoise stage scales with steps when the split is recorded."""

from __future__ import annotations

import pytest

from lensbench.speed.estimate import estimate_seconds

HEAD = "model,device,height,width,steps,batch_size,status,latency_p50_s,text_encode_s,denoise_s,vae_decode_s\n"


def _run(tmp_path, rows: str):
    (tmp_path / "speed").mkdir()
    (tmp_path / "speed" / "measurements.csv").write_text(HEAD + rows)
    return tmp_path


def test_steps_scale_only_the_denoise_stage(tmp_path):
    # batch 2, 1.0 s per call: 0.2 s text encode + 0.6 s denoise (8 steps) + 0.2 s VAE
    run = _run(tmp_path, "tiny,cpu,64,64,8,2,ok,1.0,0.2,0.6,0.2\n")
    est = estimate_seconds("tiny", height=64, width=64, steps=4, batch_size=2, images=10, speed_run=run)
    # per image: 0.5 s; denoise 0.3 s of it halves -> 0.35 s (not 0.25 s, the whole call halved)
    assert est["per_image_s"] == pytest.approx(0.35) and est["seconds"] == pytest.approx(3.5)
    assert est["scaled"] == ["steps 8 -> 4 (denoise stage only)"]
    same = estimate_seconds("tiny", height=64, width=64, steps=8, batch_size=2, images=10, speed_run=run)
    assert same["per_image_s"] == pytest.approx(0.5) and same["scaled"] == []


def test_without_a_stage_split_the_whole_call_scales(tmp_path):
    run = _run(tmp_path, "tiny,cpu,64,64,8,1,ok,1.0,,,\n")
    est = estimate_seconds("tiny", height=64, width=64, steps=4, images=2, speed_run=run)
    assert est["per_image_s"] == pytest.approx(0.5) and est["scaled"] == ["steps 8 -> 4"]
