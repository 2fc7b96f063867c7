"""The clipscore scorer names local CLIP weights by content (the shared `lensbench.util.identity` rule), not by path."""

from __future__ import annotations

import json

from lensbench.scorers.clipscore.scorer import ClipScoreScorer


def _checkpoint(d, hidden: int = 32):
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"model_type": "clip", "projection_dim": hidden}))
    (d / "preprocessor_config.json").write_text(json.dumps({"crop_size": 224}))
    (d / "model.safetensors").write_bytes(b"\0" * 64)
    return d


def _fp(path):
    return ClipScoreScorer({"model": str(path)}).fingerprint()


def test_moving_the_directory_keeps_the_fingerprint(tmp_path):
    before = _fp(_checkpoint(tmp_path / "a" / "clip"))
    (tmp_path / "a" / "clip").rename(tmp_path / "moved")
    after = _fp(tmp_path / "moved")
    assert before == after
    assert before["weights"]["kind"] == "local" and len(before["weights"]["fingerprint"]) == 64
    assert str(tmp_path) not in json.dumps(before)  # no path in the identity


def test_changing_a_config_file_or_the_weights_changes_it(tmp_path):
    d = _checkpoint(tmp_path / "clip")
    base = _fp(d)["weights"]
    (d / "config.json").write_text(json.dumps({"model_type": "clip", "projection_dim": 64}))
    changed = _fp(d)["weights"]
    assert changed != base
    (d / "model.safetensors").write_bytes(b"\0" * 65)  # another single-file checkpoint of another size
    assert _fp(d)["weights"] not in (base, changed)


def test_tiny_and_hub_models_keep_their_identity():
    assert ClipScoreScorer({"model": "tiny"}).fingerprint()["weights"] == "tiny-v1"
    repo = "lensbench-tests/never-cached-clip"  # a Hub id with no local snapshot: commit unknown, never fetched
    hub = ClipScoreScorer({"model": repo, "revision": "v1"}).fingerprint()
    assert hub["model"] == repo
    assert hub["weights"] == {"kind": "hub", "repo": repo, "revision": "v1", "commit": None}
