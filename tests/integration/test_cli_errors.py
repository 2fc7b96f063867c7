"""Every user error of `generate` is one line, names the fix, exits 2, no traceback (issue 2, item 8)."""

from __future__ import annotations

import pytest

from tests.helpers import assert_user_error, run_cli


def test_unknown_model_suggests_nearest(tmp_path):
    p = run_cli("generate", "--model", "lens-trubo", "--out", str(tmp_path / "r"))
    assert_user_error(p, "unknown model 'lens-trubo'", "did you mean 'lens-turbo'")
    assert not (tmp_path / "r").exists()


def test_bad_resolution_names_constraint_and_nearest(tmp_path):
    p = run_cli("generate", "--model", "tiny", "--height", "70", "--width", "64", "--out", str(tmp_path / "r"))
    assert_user_error(p, "64x70 (WxH) is not a valid size for tiny", "multiples of 16", "nearest valid size: 64x64")


def test_aspect_ratio_out_of_range(tmp_path):
    p = run_cli("generate", "--model", "lens", "--height", "512", "--width", "1600", "--out", str(tmp_path / "r"), "--dry-run")
    assert_user_error(p, "aspect ratio", "nearest valid size")


def test_cuda_requested_but_absent(tmp_path):
    p = run_cli("generate", "--model", "tiny", "--device", "cuda", "--out", str(tmp_path / "r"))
    assert_user_error(p, "CUDA is not available", "--device cpu")


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = run_cli("generate", "--model", "tiny", "--suite", "smoke", "--out", str(blocker / "run"))
    assert_user_error(p, "not writable", "--out")


def test_malformed_suite_line(tmp_path):
    f = tmp_path / "prompts.jsonl"
    f.write_text('{"id": "a", "prompt": "a cat"}\n{"id": "b" "prompt": "a dog"}\n')
    p = run_cli("generate", "--model", "tiny", "--suite", str(f), "--out", str(tmp_path / "r"))
    assert_user_error(p, "prompts.jsonl:2", "fix that line")


def test_missing_suite_file(tmp_path):
    p = run_cli("generate", "--model", "tiny", "--suite", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "r"))
    assert_user_error(p, "does not exist")


@pytest.mark.slow
def test_missing_weights_offline(tmp_path):
    p = run_cli("generate", "--model", "z-image-turbo", "--device", "cpu", "--suite", "smoke", "--out", str(tmp_path / "r"))
    assert_user_error(p, "cannot load weights for z-image-turbo", "lensbench fetch z-image-turbo", "--model-path")
    assert not (tmp_path / "r" / "manifest.json").exists()


@pytest.mark.slow
def test_missing_lens_package(tmp_path):
    p = run_cli("generate", "--model", "lens-turbo", "--device", "cpu", "--suite", "smoke", "--out", str(tmp_path / "r"))
    assert_user_error(p, "`lens` package", "github.com/microsoft/Lens", "PYTHONPATH")
    assert not (tmp_path / "r" / "manifest.json").exists()


def test_hunyuan_needs_trust_remote_code(tmp_path):
    p = run_cli("generate", "--model", "hunyuan-image-3", "--device", "cpu", "--suite", "smoke", "--out", str(tmp_path / "r"))
    assert_user_error(p, "--trust-remote-code")


def test_bad_key_value_option(tmp_path):
    p = run_cli("generate", "--model", "tiny", "-S", "novalue", "--out", str(tmp_path / "r"))
    assert_user_error(p, "--suite-option takes KEY=VALUE")


def test_score_of_a_speed_run_is_a_user_error(tmp_path):
    # `lensbench score runs/speed` (a `lensbench speed` run: manifest without "suite") ended in KeyError: 'suite'
    import json

    run = tmp_path / "sp"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"schema_version": 1, "kind": "speed", "model": {"name": "tiny"}}))
    for extra in ([], ["--scorer", "clipscore", "-O", "model=tiny"]):
        p = run_cli("score", str(run), *extra)
        assert_user_error(p, "speed run", "lensbench generate")
