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
import torch
from PIL import Image

from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.generators.lens_adapter import bucket_for
from lensbench.runners.generate import run_generate

CALLS: list[tuple[str, dict]] = []


def _image(h, w, seed):
    return Image.new("RGB", (w, h), ((seed * 37) % 256, 0, 0))


class FakeLensGptOssEncoder(torch.nn.Module):
    @classmethod
    def from_pretrained(cls, repo, *, subfolder, dtype, revision=None, **kw):
        q = kw.get("quantization_config")
        CALLS.append(("encoder", {"repo": repo, "subfolder": subfolder, "dtype": str(dtype),
                                  "dequantize": None if q is None else q.dequantize}))
        return cls()


class FakeLensTransformer2DModel:
    @classmethod
    def from_pretrained(cls, repo, *, subfolder, revision=None, **kw):
        CALLS.append(("transformer", {"repo": repo, "subfolder": subfolder}))
        return cls()


class FakeLensPipeline:
    # LensPipeline.__init__(scheduler, vae, text_encoder, tokenizer, transformer, reasoner=True)
    # LensPipeline.__call__(prompt, negative_prompt="", height=None, width=None, base_resolution=None,
    #   aspect_ratio=None, num_inference_steps=50, guidance_scale=4.0, num_images_per_prompt=1, generator=None,
    #   latents=None, ..., output_type="pil", return_dict=True, callback_on_step_end=None, ..., enable_reasoner=False)
    def __init__(self, scheduler=None, vae=None, text_encoder=None, tokenizer=None, transformer=None, reasoner=True):
        CALLS.append(("pipeline", {"text_encoder": type(text_encoder).__name__,
                                   "transformer": type(transformer).__name__, "reasoner": reasoner}))
        self.text_encoder, self.tokenizer, self.reasoner = text_encoder, tokenizer, reasoner

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


class FakePromptReasoner:
    def __init__(self, *, text_encoder=None, tokenizer=None, temperature=0.7, max_new_tokens=4096):
        CALLS.append(("reasoner", {"temperature": temperature, "max_new_tokens": max_new_tokens}))


@pytest.fixture
def fake_lens(monkeypatch):
    CALLS.clear()
    mod = types.ModuleType("lens")
    mod.LensPipeline = FakeLensPipeline
    mod.LensGptOssEncoder = FakeLensGptOssEncoder
    mod.LensTransformer2DModel = FakeLensTransformer2DModel
    mod.PromptReasoner = FakePromptReasoner
    monkeypatch.setitem(sys.modules, "lens", mod)
    return mod


def _lens_dir(tmp_path, quantized: bool = True) -> str:
    """A checkpoint directory in the published layout (only the Lens components, which the fakes load);
    the published text encoder's config declares MXFP4 quantization."""
    d = tmp_path / ("ckpt-q" if quantized else "ckpt")
    (d / "text_encoder").mkdir(parents=True, exist_ok=True)
    (d / "model_index.json").write_text(json.dumps({
        "_class_name": "LensPipeline", "reasoner": [None, None],
        "text_encoder": ["transformers", "LensGptOssEncoder"], "transformer": ["diffusers", "LensTransformer2DModel"]}))
    config = {"model_type": "gpt_oss", **({"quantization_config": {"quant_method": "mxfp4"}} if quantized else {})}
    (d / "text_encoder" / "config.json").write_text(json.dumps(config))
    return str(d)


def _calls(kind):
    return [c for k, c in CALLS if k == kind]


@pytest.mark.parametrize("model,steps,cfg", [("lens", 20, 5.0), ("lens-turbo", 4, 1.0), ("lens-base", 50, 5.0)])
def test_lens_variant_defaults_and_loading(fake_lens, tmp_path, model, steps, cfg):
    out = tmp_path / model
    s = run_generate(RunConfig(model=model, suite="smoke", out=str(out), device="cpu", progress=False, batch_size=2,
                               model_path=_lens_dir(tmp_path)))
    assert s["generated"] == 2
    (enc,), (tr,), (pipe,) = _calls("encoder"), _calls("transformer"), _calls("pipeline")
    assert enc["subfolder"] == "text_encoder" and enc["dequantize"] is True  # MXFP4 checkpoint on CPU: dequantized
    assert tr["subfolder"] == "transformer"
    assert pipe == {"text_encoder": "FakeLensGptOssEncoder", "transformer": "FakeLensTransformer2DModel",
                    "reasoner": None}  # built from components loaded with their own classes
    assert _calls("reasoner") == [{"temperature": 0.7, "max_new_tokens": 4096}]  # upstream defaults, attached
    (call,) = _calls("call")
    assert (call["steps"], call["guidance"], call["negative_prompt"], call["enable_reasoner"]) == (steps, cfg, "", False)
    assert (call["base_resolution"], call["aspect_ratio"], call["height"]) == (1024, "1:1", None)
    assert call["n"] == 1 and call["n_generators"] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generator"]["enable_reasoner"] is False and manifest["generator"]["source"] == "lens"
    assert manifest["generator"]["text_encoder_quantization"] == "mxfp4"
    assert manifest["generator"]["text_encoder_mxfp4_dequantized"] is True
    assert (manifest["generation"]["steps"], manifest["generation"]["guidance"]) == (steps, cfg)


def test_lens_non_quantized_encoder_loads_plainly(fake_lens, tmp_path):
    run_generate(RunConfig(model="lens", suite="smoke", limit=1, out=str(tmp_path / "r"), device="cpu",
                           progress=False, model_path=_lens_dir(tmp_path, quantized=False), model_options={
                               "dequantize": False}))
    (enc,) = _calls("encoder")
    assert enc["dequantize"] is None  # no quantization_config passed at all
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert m["generator"]["text_encoder_quantization"] is None


def test_lens_bucket_mapping(fake_lens, tmp_path):
    run_generate(RunConfig(model="lens-turbo", suite="smoke", limit=1, out=str(tmp_path / "a"), device="cpu",
                           resolution="1440/16:9", progress=False, model_path=_lens_dir(tmp_path)))
    (call,) = _calls("call")
    assert (call["base_resolution"], call["aspect_ratio"], call["height"], call["width"]) == (1440, "16:9", None, None)
    img = Image.open(next((tmp_path / "a" / "images").rglob("*.png")))
    assert img.size == (1936, 1088)
    CALLS.clear()
    run_generate(RunConfig(model="lens-turbo", suite="smoke", limit=1, out=str(tmp_path / "b"), device="cpu",
                           height=512, width=768, progress=False, model_path=_lens_dir(tmp_path)))
    (call,) = _calls("call")
    assert (call["base_resolution"], call["height"], call["width"]) == (None, 512, 768)
    assert bucket_for(768, 1376) == (1024, "16:9") and bucket_for(1000, 1000) is None


def test_lens_reasoner_flag_recorded(fake_lens, tmp_path):
    out = tmp_path / "r"
    run_generate(RunConfig(model="lens", suite="smoke", limit=1, out=str(out), device="cpu", progress=False,
                           model_options={"enable_reasoner": True}, model_path=_lens_dir(tmp_path)))
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
    """Behaves like HunyuanImage3ForCausalMM in the two respects that matter (thirdparty README, hunyuan.py and
    image_processor.py @ 1d011c8): the scheduler is built once, on first access of `pipeline`, from
    `generation_config.flow_shift` (a `flow_shift` keyword of generate_image is ignored), and `image_size` is
    snapped to the nearest resolution bucket."""

    BUCKETS = [(1024, 1024), (768, 1280), (1280, 768), (896, 1152), (1152, 896)]  # (H, W), a subset for the test

    def __init__(self):
        self.generation_config = types.SimpleNamespace(flow_shift=3.0, diff_infer_steps=50, diff_guidance_scale=5.0)
        self._pipeline = None

    def load_tokenizer(self, path):
        CALLS.append(("tokenizer", {"path": path}))

    @property
    def pipeline(self):
        if self._pipeline is None:
            self._pipeline = types.SimpleNamespace(scheduler_shift=self.generation_config.flow_shift)
        return self._pipeline

    def _snap(self, h, w):
        return min(self.BUCKETS, key=lambda b: (abs(b[0] / b[1] - h / w), abs(b[0] * b[1] - h * w)))

    # generate_image(prompt, seed=None, image_size="auto", use_system_prompt=None, system_prompt=None,
    #   bot_task=None, stream=False, **kwargs)
    def generate_image(self, prompt, seed=None, image_size="auto", use_system_prompt=None, system_prompt=None,
                       bot_task=None, stream=False, **kwargs):
        shift = self.pipeline.scheduler_shift  # kwargs.get("flow_shift") plays no part, as upstream
        CALLS.append(("generate_image", dict(prompt=prompt, seed=seed, image_size=image_size, bot_task=bot_task,
                                             use_system_prompt=use_system_prompt, stream=stream,
                                             sampling_shift=shift, **kwargs)))
        h, w = self._snap(*image_size)
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
    assert (c["diff_infer_steps"], c["diff_guidance_scale"], c["sampling_shift"]) == (50, 5.0, 3.0)
    assert "flow_shift" not in c  # a keyword would be ignored upstream; the shift goes through generation_config


def test_hunyuan_flow_shift_goes_through_generation_config(fake_hunyuan, tmp_path):
    weights = tmp_path / "HunyuanImage-3"
    weights.mkdir()
    out = tmp_path / "s"
    run_generate(RunConfig(model="hunyuan-image-3", suite="smoke", limit=1, out=str(out), device="cpu", progress=False,
                           model_path=str(weights), trust_remote_code=True, model_options={"flow_shift": 7.0}))
    (c,) = _calls("generate_image")
    assert c["sampling_shift"] == 7.0  # what the sampler used
    g = json.loads((out / "manifest.json").read_text())["generator"]
    assert g["flow_shift"] == {"value": 7.0, "source": "generation_config.flow_shift set before the first generation",
                               "checkpoint_value": 3.0}


def test_hunyuan_snapped_size_is_refused_and_named(fake_hunyuan, tmp_path):
    weights = tmp_path / "HunyuanImage-3"
    weights.mkdir()
    out = tmp_path / "snap"
    with pytest.raises(UserError, match=r"made a 1024x1024 \(WxH\) image for the planned 1008x1008.*--width 1024"):
        run_generate(RunConfig(model="hunyuan-image-3", suite="smoke", limit=1, out=str(out), device="cpu",
                               progress=False, model_path=str(weights), trust_remote_code=True, height=1008,
                               width=1008))
    assert not list(out.rglob("*.png"))  # nothing recorded for an image of another size
    s = run_generate(RunConfig(model="hunyuan-image-3", suite="smoke", limit=1, out=str(tmp_path / "ok"), device="cpu",
                               progress=False, model_path=str(weights), trust_remote_code=True, height=768, width=1280))
    assert s["generated"] == 1
    rec = json.loads(next((tmp_path / "ok" / "records").glob("generate.r*.jsonl")).read_text().splitlines()[0])
    assert (rec["width"], rec["height"]) == (1280, 768)
    assert Image.open(tmp_path / "ok" / rec["image"]).size == (1280, 768)  # the size actually returned


def test_hunyuan_rejects_dotted_dir_and_hub_id(fake_hunyuan, tmp_path):
    dotted = tmp_path / "HunyuanImage-3.0"
    dotted.mkdir()
    with pytest.raises(UserError, match="without dots"):
        run_generate(RunConfig(model="hunyuan-image-3", suite="smoke", out=str(tmp_path / "a"), device="cpu",
                               progress=False, trust_remote_code=True, model_path=str(dotted)))
    with pytest.raises(UserError, match="--model-path"):
        run_generate(RunConfig(model="hunyuan-image-3", suite="smoke", out=str(tmp_path / "b"), device="cpu",
                               progress=False, trust_remote_code=True))


def test_upstream_prints_stay_off_the_terminal_and_go_to_the_log(fake_lens, tmp_path, capfd, caplog):
    # upstream lens/pipeline.py prints 'HERE REFINE' from refine_prompt on every call (seen in `demo`, `speed`)
    class PrintingPipeline(FakeLensPipeline):
        def __call__(self, *args, **kwargs):
            print("HERE REFINE")
            return super().__call__(*args, **kwargs)

    fake_lens.LensPipeline = PrintingPipeline
    run_generate(RunConfig(model="lens", suite="smoke", limit=1, out=str(tmp_path / "r"), device="cpu",
                           progress=False, model_path=_lens_dir(tmp_path)))
    out, err = capfd.readouterr()
    assert "HERE REFINE" not in out and "HERE REFINE" not in err  # default verbosity: INFO lines stay hidden
    from lensbench.generators.lens_adapter import upstream_stdout_to_log

    with caplog.at_level("INFO", logger="lens.stdout"), upstream_stdout_to_log():
        print("HERE REFINE")
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [("lens.stdout", "INFO", "HERE REFINE")]
