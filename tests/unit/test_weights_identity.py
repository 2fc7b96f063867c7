"""Weights identity (issue 13 item 5) and the native-size protocol (issue 14 item 5), without loading a model.

- a Hub id resolves to the commit its revision points at in the local HF cache (offline), via huggingface_hub;
- a local directory gets a fingerprint of its config/index files, and a changed config changes the work-item keys;
- `--resolution native` (and "native" in speed / ablation sizes) is the model's declared native size, and the
  manifest says whether a run is off-native.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lensbench.config import RunConfig
from lensbench.generators import MODELS
from lensbench.generators.weights import key_identity, weights_identity
from lensbench.runners.generate import prepare
from lensbench.util.identity import hub_commit, local_fingerprint

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _fake_hub_cache(root: Path, repo: str) -> None:
    repo_dir = root / f"models--{repo.replace('/', '--')}"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(COMMIT)
    snap = repo_dir / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    (snap / "model_index.json").write_text("{}")


def test_hub_commit_from_the_local_cache(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    _fake_hub_cache(tmp_path / "hub", "Qwen/Qwen-Image")
    assert hub_commit("Qwen/Qwen-Image") == COMMIT
    assert hub_commit("Qwen/Qwen-Image", "deadbeef" * 5) == "deadbeef" * 5  # already a commit
    assert hub_commit("Qwen/Not-Cached") is None
    ident = weights_identity(MODELS.get("qwen-image"))
    assert ident == {"kind": "hub", "repo": "Qwen/Qwen-Image", "revision": None, "commit": COMMIT}


def test_local_fingerprint_covers_configs_not_weights(tmp_path):
    d = tmp_path / "ckpt"
    (d / "vae").mkdir(parents=True)
    (d / "model_index.json").write_text('{"_class_name": "X"}')
    (d / "vae" / "config.json").write_text('{"a": 1}')
    (d / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"w1")
    before = local_fingerprint(d)
    (d / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"w2")
    assert local_fingerprint(d) == before
    (d / "vae" / "config.json").write_text('{"a": 2}')
    assert local_fingerprint(d) != before
    ident = weights_identity(MODELS.get("lens"), str(d))
    assert ident["kind"] == "local" and ident["fingerprint"] == local_fingerprint(d)
    assert "path" not in key_identity(ident)


def _keys(tmp_path, model_path: str, **kw) -> set[str]:
    cfg = RunConfig(model="lens", suite="smoke", out=str(tmp_path / "r"), device="cpu", model_path=model_path,
                    progress=False, **kw)
    return {w.key for w in prepare(cfg).plan}


def test_weights_identity_is_part_of_work_item_keys(tmp_path):
    d = tmp_path / "mirror"
    d.mkdir()
    (d / "model_index.json").write_text(json.dumps({"_class_name": "LensPipeline"}))
    moved = tmp_path / "moved"
    d.rename(moved)
    (moved / "model_index.json").write_text(json.dumps({"_class_name": "LensPipeline", "_v": 2}))
    changed = _keys(tmp_path, str(moved))
    (moved / "model_index.json").write_text(json.dumps({"_class_name": "LensPipeline"}))
    assert changed != _keys(tmp_path, str(moved))  # other weights, other work items
    settings = prepare(RunConfig(model="lens", suite="smoke", out=str(tmp_path / "r"), device="cpu",
                                 model_path=str(moved), progress=False)).settings
    assert settings["weights_identity"]["fingerprint"] == local_fingerprint(moved)


def test_native_size_resolution_and_off_native_label():
    spec = MODELS.get("hunyuan-image-2.1")
    ctx = prepare(RunConfig(model="hunyuan-image-2.1", suite="smoke", out="/tmp/unused", device="cpu",
                            resolution="native", progress=False))
    assert (ctx.settings["height"], ctx.settings["width"]) == (2048, 2048) == spec.native
    lens = MODELS.get("lens")
    assert lens.is_native(1024, 1024) and lens.is_native(1088, 1936) and not lens.is_native(512, 512)
    assert lens.to_dict()["native_size"] == [1024, 1024]


def test_native_in_speed_and_ablation_sizes():
    from lensbench.ablation.grid import setter_for
    from lensbench.speed.plan import explicit_sizes

    assert explicit_sizes(MODELS.get("qwen-image-2.1"), ["native"]) == [(2048, 2048, "native")]
    cfg: dict = {}
    setter_for("size")(cfg, "native")
    assert cfg == {"height": None, "width": None, "resolution": "native"}


def test_manifest_records_native_size_and_off_native(tmp_path):
    from lensbench.generators.weights import model_provenance

    spec = MODELS.get("qwen-image")
    assert model_provenance(spec, None, None, [(1328, 1328)])["off_native"] is False
    assert model_provenance(spec, None, None, [(928, 1664)])["off_native"] is False  # a native aspect preset
    p = model_provenance(spec, None, None, [(1024, 1024)])
    assert p["off_native"] is True and p["native_size"] == [1328, 1328]


@pytest.mark.parametrize("name", ["tiny", "tiny-lens"])
def test_tiny_builds_are_identified_by_builder_and_version(name):
    ident = weights_identity(MODELS.get(name))
    assert ident["kind"] == "built" and ident["builder"] == name and isinstance(ident["builder_version"], int)


def test_one_fingerprint_rule_for_generators_and_scorers(tmp_path):
    """util.identity.local_fingerprint is the rule for both: definition files by bytes, weight files by name and
    size, hidden paths and other files ignored; the scorer side (`with_weights`) records the same fingerprint."""
    from lensbench.scorers.identity import with_weights

    d = tmp_path / "ckpt"
    (d / "text_encoder").mkdir(parents=True)
    (d / "model_index.json").write_text('{"_class_name": "X"}')
    (d / "text_encoder" / "model.safetensors").write_bytes(b"\0" * 8)
    before = local_fingerprint(d)
    (d / "README.md").write_text("notes")
    (d / "__pycache__").mkdir()
    (d / "__pycache__" / "pipeline.cpython-311.pyc").write_bytes(b"\1")
    (d / ".cache").mkdir()
    (d / ".cache" / "model_index.json.lock").write_text("")
    assert local_fingerprint(d) == before  # none of these changes images
    (d / "text_encoder" / "model.safetensors").write_bytes(b"\0" * 9)
    assert local_fingerprint(d) != before  # another single-file checkpoint that no index lists
    assert with_weights({"model": str(d)}, "model")["weights"]["fingerprint"] == local_fingerprint(d)
    assert weights_identity(MODELS.get("lens"), str(d))["fingerprint"] == local_fingerprint(d)
    ckpt = d / "text_encoder" / "model.safetensors"
    assert local_fingerprint(ckpt) == hashlib.sha256(b"\0" * 9).hexdigest()  # a single file: all its bytes
