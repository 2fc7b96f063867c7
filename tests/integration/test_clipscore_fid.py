"""`clipscore` (torchmetrics CLIPScore on a tiny transformers CLIP built locally) and `lensbench fid`
(torchmetrics FID/KID) on tiny inputs, both through the CLI; real weights are behind one-line offline errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import run_cli_inprocess

pytestmark = pytest.mark.slow  # torch + transformers + torchmetrics


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, shared_data):
    from lensbench.config import RunConfig
    from lensbench.generators import MODELS, LoadOptions
    from lensbench.runners.generate import run_generate
    from tests.ablation_support import FakeGenerator

    root = tmp_path_factory.mktemp("clip")
    meta = str(shared_data / "geneval" / "evaluation_metadata.jsonl")
    cfg = RunConfig(model="tiny", suite="geneval", suite_options={"metadata": meta}, out=str(root / "run"), limit=3,
                    images_per_prompt=2, height=32, width=32, device="cpu", progress=False)
    run_generate(cfg, generator=FakeGenerator(MODELS.get("tiny"), LoadOptions(device="cpu")))
    return root / "run"


def test_clipscore_scores_a_run_with_the_tiny_clip(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    p = run_cli_inprocess("score", str(tiny_run), "--scorer", "clipscore", "-O", "model=tiny", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert "clipscore:" in p.stdout and "Writing model shards" not in p.stderr and "Loading weights" not in p.stderr
    res = json.loads((tiny_run / "results" / "clipscore.json").read_text())
    head = [m for m in res["metrics"] if m["metric"] == "clipscore" and m["category"] is None][0]
    assert head["n"] == 3 and 0.0 <= head["value"] <= 100.0 and head["ci_low"] <= head["value"] <= head["ci_high"]
    recs = [json.loads(x) for f in (tiny_run / "records").glob("score.clipscore.*.jsonl") for x in f.read_text().splitlines()]
    assert len(recs) == 6 and all(0.0 <= r["clipscore"] <= 100.0 for r in recs)
    # the per-image value is torchmetrics' CLIPScore of that image and its original prompt
    import torch
    from PIL import Image
    from torchmetrics.multimodal.clip_score import CLIPScore

    from lensbench.scorers.clipscore.scorer import ClipScoreScorer, _FeatureShim
    from lensbench.scorers.clipscore.tiny import ensure_tiny_clip
    from transformers import CLIPModel, CLIPProcessor

    where = ensure_tiny_clip()
    model, proc = CLIPModel.from_pretrained(where), CLIPProcessor.from_pretrained(where)
    metric = CLIPScore(model_name_or_path=lambda: (_FeatureShim(model.eval()), proc))
    gen = {json.loads(x)["key"]: json.loads(x) for f in (tiny_run / "records").glob("generate.*.jsonl")
           for x in f.read_text().splitlines()}
    r = recs[0]
    img = torch.from_numpy(np.asarray(Image.open(tiny_run / r["image"]).convert("RGB")).copy()).permute(2, 0, 1)
    metric.update(img, gen[r["key"]]["prompt"])
    assert float(metric.compute()) == pytest.approx(r["clipscore"], abs=1e-4)
    assert ClipScoreScorer({"model": "tiny"}).fingerprint()["weights"] == "tiny-v1"


def test_clipscore_real_model_offline_is_one_line(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    p = run_cli_inprocess("score", str(tiny_run), "--scorer", "clipscore", "--no-progress")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and p.stderr.startswith("error: cannot load the CLIP model")
    assert "lensbench fetch" in p.stderr
    bad = run_cli_inprocess("score", str(tiny_run), "--scorer", "clipscore", "-O", "batch_size=many")
    assert bad.returncode == 2 and "expected int" in bad.stderr


def _folder(path, seed, high):
    from PIL import Image

    path.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(6):
        Image.fromarray(rng.integers(0, high, (40, 40, 3), dtype=np.uint8)).save(path / f"{i}.png")
    return path


def test_fid_between_runs_and_folders_with_tiny_features(tiny_run, tmp_path):
    from lensbench.metrics.fid import FidOptions, compute_fid

    a, b = _folder(tmp_path / "a", 0, 255), _folder(tmp_path / "b", 1, 60)
    same = compute_fid(a, a, FidOptions(features="tiny"))
    diff = compute_fid(a, b, FidOptions(features="tiny"))
    assert abs(same["fid"]) < 1e-3 and diff["fid"] > 10 * max(abs(same["fid"]), 1e-6)
    assert diff["kid_mean"] > same["kid_mean"] and diff["kid_subset_size"] == 6
    assert diff["a"]["images"] == 6 and diff["a"]["kind"] == "folder" and len(diff["a"]["images_sha256"]) == 64
    out = tmp_path / "fid.json"
    p = run_cli_inprocess("fid", str(tiny_run), str(b), "--features", "tiny", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("FID ") and "not FID values" in p.stdout and p.stderr == ""
    res = json.loads(out.read_text())
    assert res["a"]["kind"] == "run" and res["a"]["images"] == 6 and res["features"]["name"] == "tiny"


def test_fid_help_and_offline_inception_error(tmp_path, monkeypatch):
    h = run_cli_inprocess("fid", "--help")
    assert h.returncode == 0 and "Examples" in h.stdout and "lensbench fid runs/" in h.stdout
    s = run_cli_inprocess("score", "--help")
    assert s.returncode == 0 and "--scorer clipscore -O model=tiny" in s.stdout
    a = _folder(tmp_path / "a", 0, 255)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    p = run_cli_inprocess("fid", str(a), str(a))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--fetch-weights" in p.stderr
    one = _folder(tmp_path / "one", 0, 255)
    for f in list(one.iterdir())[1:]:
        f.unlink()
    p = run_cli_inprocess("fid", str(one), str(a), "--features", "tiny")
    assert p.returncode == 2 and "at least 2 images" in p.stderr
