"""`--model diffusers:<repo id or directory>` and a bare checkpoint directory (issue 14 item 3): the spec is read
from model_index.json (pipeline class, the class's own __call__ defaults recorded as such, size multiple from
the VAE factor and patch size), tested on every tiny build; an unknown pipeline class is a one-line error."""

from __future__ import annotations

import contextlib
import inspect
import json

import pytest
from PIL import Image

from lensbench.generators import MODELS
from lensbench.generators.tiny import ensure_built
from tests.helpers import run_cli_inprocess
from tests.lens_upstream import upstream_lens

pytestmark = pytest.mark.slow

#: tiny build -> (pipeline class, guidance kind read from its __call__ / guider, default guidance, sides multiple of)
BUILDS = {
    "tiny": ("StableDiffusionPipeline", "cfg", 7.5, 8),
    "tiny-z-image": ("ZImagePipeline", "cfg", 5.0, 16),
    "tiny-qwen-image": ("QwenImagePipeline", "true_cfg", 4.0, 16),
    "tiny-flux2-klein": ("Flux2KleinPipeline", "distilled", 4.0, 16),
    "tiny-qwen-image-2.1": ("QwenImage21Pipeline", "true_cfg", 1.0, 32),
    "tiny-hunyuan-image-2.1": ("HunyuanImagePipeline", "guider", 3.5, 64),  # the guider component's scale
    "tiny-hunyuan-image-2.1-distilled": ("HunyuanImagePipeline", "distilled_scale", 3.25, 64),
    "tiny-lens": ("LensPipeline", "cfg", 4.0, 16),  # provided by the `lens` package, loaded by the Lens adapter
}


def _pipeline_class(cls_name: str):
    import diffusers

    if cls_name == "LensPipeline":
        import lens

        return lens.LensPipeline
    return getattr(diffusers, cls_name)


def _suite(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"id": "p0", "prompt": "a red cat"}) + "\n")
    return str(f)


@pytest.mark.parametrize("name", list(BUILDS))
def test_diffusers_prefix_on_every_tiny_build(tmp_path, name):
    cls_name, kind, guidance, multiple = BUILDS[name]
    with contextlib.ExitStack() as stack:
        if cls_name == "LensPipeline":
            stack.enter_context(upstream_lens())
        _check_build(tmp_path, name, cls_name, kind, guidance, multiple)


def _check_build(tmp_path, name, cls_name, kind, guidance, multiple):
    path = ensure_built(name)
    spec = MODELS.get(f"diffusers:{path}")
    assert (spec.pipeline_class, spec.defaults.guidance_kind, spec.constraints.multiple) == (cls_name, kind, multiple)
    run = tmp_path / "run"
    p = run_cli_inprocess("generate", "--model", f"diffusers:{path}", "--suite", _suite(tmp_path), "--out", str(run),
                          "--height", "64", "--width", "64", "--steps", "2", "--no-progress")
    assert p.returncode == 0, p.stderr[-2000:]
    m = json.loads((run / "manifest.json").read_text())
    call = m["generator"]["pipeline_call_defaults"]
    own = inspect.signature(_pipeline_class(cls_name).__call__).parameters["num_inference_steps"].default
    assert call["num_inference_steps"] == own == spec.defaults.steps  # recorded as the pipeline's own default
    assert m["generator"]["defaults_source"].startswith(f"{cls_name}.__call__ defaults")
    g = m["generation"]
    assert (g["guidance"], g["guidance_kind"], g["steps"]) == (guidance, kind, 2)  # the pipeline's own default
    rec = json.loads(next((run / "records").glob("generate.r*.jsonl")).read_text().splitlines()[0])
    assert Image.open(run / rec["image"]).size == (64, 64)


def test_bare_directory_uses_the_pipeline_defaults_and_registry_keeps_its_own(tmp_path):
    path = ensure_built("tiny")
    run = tmp_path / "bare"
    p = run_cli_inprocess("generate", "--model", str(path), "--suite", _suite(tmp_path), "--out", str(run),
                          "--height", "64", "--width", "64", "--no-progress")
    assert p.returncode == 0, p.stderr[-2000:]
    g = json.loads((run / "manifest.json").read_text())["generation"]
    assert (g["steps"], g["guidance"]) == (50, 7.5)  # StableDiffusionPipeline.__call__ defaults
    registered = MODELS.get("tiny")
    assert (registered.defaults.steps, registered.defaults.guidance, registered.defaults_source) == (4, 5.0, "")


def test_unknown_pipeline_class_is_one_line_error(tmp_path):
    d = tmp_path / "ckpt"
    d.mkdir()
    (d / "model_index.json").write_text(json.dumps({"_class_name": "NoSuchPipeline", "unet": ["diffusers", "X"]}))
    p = run_cli_inprocess("generate", "--model", f"diffusers:{d}", "--suite", _suite(tmp_path), "--out",
                          str(tmp_path / "r"), "--no-progress")
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "NoSuchPipeline" in lines[0] and "Traceback" not in p.stderr
    p = run_cli_inprocess("generate", "--model", f"diffusers:{tmp_path / 'missing'}", "--suite", _suite(tmp_path),
                          "--out", str(tmp_path / "r2"), "--no-progress")
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "model_index.json" in p.stderr
