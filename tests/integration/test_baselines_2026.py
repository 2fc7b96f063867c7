"""The 2026 baselines (issue 14 item 4) and the native-resolution protocol (item 5): Qwen-Image-2.1 and
HunyuanImage-2.1 registry entries with their recommended settings, their tiny random builds generated through the
same registry/adapter path, guidance reaching each pipeline the way it reads it, off-native runs labelled."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from PIL import Image

from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.generators import MODELS, GenerationRequest, LoadOptions, make_generator
from lensbench.runners.generate import run_generate
from tests.helpers import run_cli_inprocess

pytestmark = pytest.mark.slow


def test_registry_entries_carry_the_recommended_settings():
    q = MODELS.get("qwen-image-2.1")
    assert (q.pipeline_class, q.defaults.steps, q.defaults.guidance, q.native) == ("QwenImage21Pipeline", 40, 1.0,
                                                                                    (2048, 2048))
    assert "true_cfg_scale=1.0" in q.defaults_source and q.licence.startswith("Qwen Research")
    base, dist = MODELS.get("hunyuan-image-2.1"), MODELS.get("hunyuan-image-2.1-distilled")
    assert (base.defaults.steps, base.defaults.guidance, base.options["scheduler_shift"]) == (50, 3.5, 5.0)
    assert (dist.defaults.steps, dist.defaults.guidance, dist.options["scheduler_shift"]) == (8, 3.25, 4.0)
    assert base.native == (2048, 2048) and base.is_native(1536, 2560) and not base.is_native(1024, 1024)
    assert set(base.recorded) == {"reprompt", "refiner"}
    p = run_cli_inprocess("models", "--json")
    rows = {r["name"]: r for r in json.loads(p.stdout)}
    assert rows["qwen-image-2.1"]["native_size"] == [2048, 2048]
    assert rows["hunyuan-image-2.1"]["native_size"] == [2048, 2048]


def test_missing_pipeline_class_refuses_with_install_hint():
    import diffusers

    assert hasattr(diffusers, "QwenImage21Pipeline")  # diffusers 0.42.1 ships it (0.41.x did not)
    # the same entry on an older diffusers, i.e. without the class:
    older = replace(MODELS.get("qwen-image-2.1"), pipeline_class="QwenImage21PipelineNotHere")
    gen = make_generator(older, LoadOptions(device="cpu"))
    with pytest.raises(UserError, match=r"has no QwenImage21PipelineNotHere; pip install -U 'diffusers>=0\.42\.1'"):
        gen.load()


def _run(tmp_path, name, **kw):
    out = tmp_path / name
    s = run_generate(RunConfig(model=name, suite="smoke", limit=1, out=str(out), device="cpu", progress=False, **kw))
    assert s["generated"] == 1
    m = json.loads((out / "manifest.json").read_text())
    rec = json.loads(next((out / "records").glob("generate.r*.jsonl")).read_text().splitlines()[0])
    return m, rec, Image.open(out / rec["image"])


def test_tiny_qwen_image_21_generates_rgba_at_its_defaults(tmp_path):
    m, rec, img = _run(tmp_path, "tiny-qwen-image-2.1")
    assert img.size == (64, 64) and img.mode == "RGBA"  # the 2.1 VAE decodes RGBA
    assert (rec["steps"], rec["guidance"]) == (2, 1.0)
    assert m["model"]["native_size"] == [64, 64] and m["model"]["off_native"] is False


def test_tiny_hunyuan_21_guidance_reaches_the_guider_and_shift_is_applied(tmp_path):
    spec = MODELS.get("tiny-hunyuan-image-2.1")
    gen = make_generator(spec, LoadOptions(device="cpu"))
    req = GenerationRequest(prompt="a red cat", seed=0, height=64, width=64, steps=1, guidance=2.0, negative_prompt="")
    (img,) = gen.generate([req])
    assert gen.pipe.guider.guidance_scale == 2.0 and img.size == (64, 64)
    assert gen.pipe.scheduler.config.shift == 5.0 and gen.info()["scheduler_shift"] == 5.0
    m, rec, _ = _run(tmp_path, "tiny-hunyuan-image-2.1", steps=1, width=128)  # off-native: 128x64
    assert m["model"]["off_native"] is True and m["generator"]["recorded"]["refiner"].startswith("off")


def test_tiny_hunyuan_21_distilled_takes_the_distilled_scale():
    gen = make_generator(MODELS.get("tiny-hunyuan-image-2.1-distilled"), LoadOptions(device="cpu"))
    gen.load()
    req = GenerationRequest(prompt="a red cat", seed=0, height=64, width=64, steps=1, guidance=3.25, negative_prompt="")
    kw = gen.call_kwargs([req])
    assert kw["distilled_guidance_scale"] == 3.25 and "guidance_scale" not in kw
    assert gen.pipe.guider is None and gen.pipe.scheduler.config.shift == 4.0
    assert gen.generate([req])[0].size == (64, 64)


def test_fixed_sample_sigmas_refuse_other_step_counts(tmp_path):
    """A QwenImage21 checkpoint whose model_index.json sets sample_sigmas samples that many steps whatever
    num_inference_steps says: another --steps is refused instead of recorded wrongly."""
    import shutil

    from lensbench.generators.tiny import ensure_built

    ckpt = tmp_path / "q21"
    shutil.copytree(ensure_built("tiny-qwen-image-2.1"), ckpt)
    index = json.loads((ckpt / "model_index.json").read_text())
    (ckpt / "model_index.json").write_text(json.dumps({**index, "sample_sigmas": [1.0, 0.6, 0.3]}))
    with pytest.raises(UserError, match=r"fixes its schedule .*3 steps.*pass --steps 3"):
        _run(tmp_path, "tiny-qwen-image-2.1", model_path=str(ckpt))
    m, rec, img = _run(tmp_path / "ok", "tiny-qwen-image-2.1", model_path=str(ckpt), steps=3)
    assert rec["steps"] == 3 and m["generator"]["sample_sigmas"] == [1.0, 0.6, 0.3]
