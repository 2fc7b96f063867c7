"""Lens and HunyuanImage-3.0 adapters against stand-ins with the real call signatures (models.md §1.4, §4.1).

The stand-ins record every call; the adapters are driven through the real runner (run_generate), so what
is asserted is exactly what a user's GPU run would pass to the real classes.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.generators.lens_adapter import bucket_for
from lensbench.runners.generate import run_generate

CALLS: list[tuple[str, dict]] = []


def _image(h, w, seed):
    return Image.new("RGB", (w, h), ((seed * 37) % 256, 0, 0))


class FakeLensGptOssEncoder:
    @classmethod
    def from_pretrained(cls, repo, *, subfolder, dtype, quantization_config, revision=None):
        CALLS.append(("encoder", {"repo": repo, "subfolder": subfolder, "dtype": str(dtype),
                                  "dequantize": quantization_config.dequantize}))
        return cls()


class FakeLensPipeline:
    # LensPipeline.__call__(prompt, negative_prompt="", height=None, width=None, base_resolution=None,
    #   aspect_ratio=None, num_inference_steps=50, guidance_scale=4.0, num_images_per_prompt=1, generator=None,
    #   latents=None, ..., output_type="pil", return_dict=True, callback_on_step_end=None, ..., enable_reasoner=False)
    @classmethod
    def from_pretrained(cls, repo, *, text_encoder=None, revision=None, **dtype_kw):
        CALLS.append(("pipeline", {"repo": repo, "text_encoder": type(text_encoder).__name__, **{k: str(v) for k, v in dtype_kw.items()}}))
        return cls()

    def to(self, device):
        CALLS.append(("to", {"device": device}))
        return self

    def set_progress_bar_config(self, **kw):
        pass

    def __call__(self, prompt, negative_prompt="", height=None, width=None, base_resolution=None, aspect_ratio=None,
                 num_inference_steps=50, guidance_scale=4.0, num_images_per_prompt=1, generator=None, latents=None,
                 output_type="pil", return_dict=True, callback_on_step_end=None, max_sequence_length=512,
                 enable_reasoner=False):
        from lensbench.generators.catalog import LENS_BUCKETS

        CALLS.append(("call", dict(prompt=list(prompt), negative_prompt=negative_prompt, height=height, width=width,
                                   base_resolution=base_resolution, aspect_ratio=aspect_ratio,
                                   steps=num_inference_steps, guidance=guidance_scale, n=num_images_per_prompt,
                                   n_generators=len(generator), enable_reasoner=enable_reasoner)))
        if base_resolution is not None:
            height, width = LENS_BUCKETS[base_resolution][aspect_ratio]
        self._last_refined_prompts = list(prompt)
        return types.SimpleNamespace(images=[_image(height, width, g.initial_seed()) for g in generator])


@pytest.fixture
def fake_lens(monkeypatch):
    CALLS.clear()
    mod = types.ModuleType("lens")
    mod.LensPipeline = FakeLensPipeline
    mod.LensGptOssEncoder = FakeLensGptOssEncoder
    monkeypatch.setitem(sys.modules, "lens", mod)
    return mod


def _calls(kind):
    return [c for k, c in CALLS if k == kind]


@pytest.mark.parametrize("model,steps,cfg", [("lens", 20, 5.0), ("lens-turbo", 4, 1.0), ("lens-base", 50, 5.0)])
def test_lens_variant_defaults_and_loading(fake_lens, tmp_path, model, steps, cfg):
    out = tmp_path / model
    s = run_generate(RunConfig(model=model, suite="smoke", out=str(out), device="cpu", progress=False, batch_size=2))
    assert s["generated"] == 2
    (enc,), (pipe,) = _calls("encoder"), _calls("pipeline")
    assert enc["subfolder"] == "text_encoder" and enc["dequantize"] is True  # CPU: no MXFP4 kernels
    assert pipe["text_encoder"] == "FakeLensGptOssEncoder"
    (call,) = _calls("call")
    assert (call["steps"], call["guidance"], call["negative_prompt"], call["enable_reasoner"]) == (steps, cfg, "", False)
    assert (call["base_resolution"], call["aspect_ratio"], call["height"]) == (1024, "1:1", None)
    assert call["n"] == 1 and call["n_generators"] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generator"]["enable_reasoner"] is False and manifest["generator"]["source"] == "lens"
    assert (manifest["generation"]["steps"], manifest["generation"]["guidance"]) == (steps, cfg)


def test_lens_bucket_mapping(fake_lens, tmp_path):
    run_generate(RunConfig(model="lens-turbo", suite="smoke", limit=1, out=str(tmp_path / "a"), device="cpu",
                           resolution="1440/16:9", progress=False))
    (call,) = _calls("call")
    assert (call["base_resolution"], call["aspect_ratio"], call["height"], call["width"]) == (1440, "16:9", None, None)
    img = Image.open(next((tmp_path / "a" / "images").rglob("*.png")))
    assert img.size == (1936, 1088)
    CALLS.clear()
    run_generate(RunConfig(model="lens-turbo", suite="smoke", limit=1, out=str(tmp_path / "b"), device="cpu",
                           height=512, width=768, progress=False))
    (call,) = _calls("call")
    assert (call["base_resolution"], call["height"], call["width"]) == (None, 512, 768)
    assert bucket_for(768, 1376) == (1024, "16:9") and bucket_for(1000, 1000) is None


def test_lens_reasoner_flag_recorded(fake_lens, tmp_path):
    out = tmp_path / "r"
    run_generate(RunConfig(model="lens", suite="smoke", limit=1, out=str(out), device="cpu", progress=False,
                           model_options={"enable_reasoner": True}))
    assert _calls("call")[0]["enable_reasoner"] is True
    m = json.loads((out / "manifest.json").read_text())
    assert m["generator"]["enable_reasoner"] is True
    assert m["generation"]["model_options"]["enable_reasoner"] is True  # part of every work-item key


def test_lens_missing_package_is_clear(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "lens", None)  # import lens -> ImportError
    with pytest.raises(UserError, match="microsoft/Lens"):
        run_generate(RunConfig(model="lens", suite="smoke", out=str(tmp_path / "r"), device="cpu", progress=False))
    assert not (tmp_path / "r" / "manifest.json").exists()


class FakeHunyuanModel:
    def __init__(self):
        self.calls = []

    def load_tokenizer(self, path):
        CALLS.append(("tokenizer", {"path": path}))

    # generate_image(prompt, seed=None, image_size="auto", use_system_prompt=None, system_prompt=None,
    #   bot_task=None, stream=False, **kwargs)
    def generate_image(self, prompt, seed=None, image_size="auto", use_system_prompt=None, system_prompt=None,
                       bot_task=None, stream=False, **kwargs):
        CALLS.append(("generate_image", dict(prompt=prompt, seed=seed, image_size=image_size, bot_task=bot_task,
                                             use_system_prompt=use_system_prompt, stream=stream, **kwargs)))
        h, w = image_size
        return _image(h, w, seed)


@pytest.fixture
def fake_hunyuan(monkeypatch):
    import transformers

    CALLS.clear()

    def from_pretrained(path, **kw):
        CALLS.append(("from_pretrained", {"path": path, **{k: str(v) for k, v in kw.items()}}))
        return FakeHunyuanModel()

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", staticmethod(from_pretrained))


def test_hunyuan_trust_remote_code_gate_and_call(fake_hunyuan, tmp_path):
    weights = tmp_path / "HunyuanImage-3"
    weights.mkdir()
    base = dict(model="hunyuan-image-3", suite="smoke", device="cpu", progress=False, model_path=str(weights))
    with pytest.raises(UserError, match="--trust-remote-code"):
        run_generate(RunConfig(out=str(tmp_path / "no"), **base))
    assert _calls("from_pretrained") == []  # nothing loaded without the flag
    s = run_generate(RunConfig(out=str(tmp_path / "yes"), trust_remote_code=True, batch_size=2, **base))
    assert s["generated"] == 2
    (fp,) = _calls("from_pretrained")
    assert fp["trust_remote_code"] == "True" and fp["device_map"] == "auto" and fp["moe_impl"] == "eager"
    calls = _calls("generate_image")
    assert [c["seed"] for c in calls] == [42, 42]  # one image per prompt, seed 42 + index 0
    c = calls[0]
    assert c["image_size"] == (1024, 1024) and c["bot_task"] == "image" and c["use_system_prompt"] == "None"
    assert (c["diff_infer_steps"], c["diff_guidance_scale"], c["flow_shift"]) == (50, 5.0, 3.0)


def test_hunyuan_rejects_dotted_dir_and_hub_id(fake_hunyuan, tmp_path):
    dotted = tmp_path / "HunyuanImage-3.0"
    dotted.mkdir()
    with pytest.raises(UserError, match="without dots"):
        run_generate(RunConfig(model="hunyuan-image-3", suite="smoke", out=str(tmp_path / "a"), device="cpu",
                               progress=False, trust_remote_code=True, model_path=str(dotted)))
    with pytest.raises(UserError, match="--model-path"):
        run_generate(RunConfig(model="hunyuan-image-3", suite="smoke", out=str(tmp_path / "b"), device="cpu",
                               progress=False, trust_remote_code=True))
