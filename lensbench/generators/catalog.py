"""The model registry: one `ModelSpec` per model, pure data (importing this costs nothing).

Facts come from the project's reference (shared/reference/models.md), which cites the model owners'
repositories and cards; ⚠️/(?) there are carried into `notes`. Adding a model = one `MODELS.register` call
here (and an adapter file when no existing adapter fits).
"""

from __future__ import annotations

from dataclasses import replace

from lensbench.generators.base import Constraints, Defaults, ModelSpec, Requirements
from lensbench.registry import Registry



class ModelRegistry(Registry[ModelSpec]):
    """The registry, plus `diffusers:<repo id or directory>` and bare checkpoint directories, whose specs are read
    from their model_index.json (lensbench.generators.any_diffusers; imported only for such names)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self._read: dict[str, ModelSpec] = {}

    def get(self, name: str) -> ModelSpec:
        if name in self:
            return super().get(name)
        from lensbench.generators import any_diffusers

        if not any_diffusers.wants_spec(name):
            return super().get(name)  # unknown name: did-you-mean error
        if name not in self._read:
            self._read[name] = any_diffusers.spec_from_checkpoint(name)
        return self._read[name]


MODELS: ModelRegistry = ModelRegistry("model")

DIFFUSERS = "lensbench.generators.diffusers_adapter:DiffusersGenerator"
LENS = "lensbench.generators.lens_adapter:LensGenerator"
HUNYUAN3 = "lensbench.generators.hunyuan_adapter:HunyuanImage3Generator"


def _register(spec: ModelSpec, *aliases: str) -> None:
    MODELS.register(spec.name, spec, aliases=aliases)


# --- Lens family (models.md §1). Buckets (H, W) from lens/resolution.py; the AR string is W:H. -------------
_LENS_BUCKETS_1024 = {
    "1:2": (1472, 736), "9:16": (1376, 768), "2:3": (1248, 832), "3:4": (1152, 864), "1:1": (1024, 1024),
    "4:3": (864, 1152), "3:2": (832, 1248), "16:9": (768, 1376), "2:1": (736, 1472),
}
_LENS_BUCKETS_1440 = {
    "1:2": (2080, 1040), "9:16": (1936, 1088), "2:3": (1760, 1168), "3:4": (1616, 1216), "1:1": (1440, 1440),
    "4:3": (1216, 1616), "3:2": (1168, 1760), "16:9": (1088, 1936), "2:1": (1040, 2080),
}
LENS_BUCKETS = {1024: _LENS_BUCKETS_1024, 1440: _LENS_BUCKETS_1440}
_LENS_PRESETS = {**_LENS_BUCKETS_1024, **{f"1440/{k}": v for k, v in _LENS_BUCKETS_1440.items()}}
_LENS_CONSTRAINTS = Constraints(multiple=16, min_side=256, max_pixels=2080 * 1040, min_aspect=0.5, max_aspect=2.0)
_LENS_REQ = Requirements(
    min_diffusers="0.38.0",  # upstream setup pins diffusers==0.38.0, transformers==5.8.0 (models.md §1.2)
    min_transformers="5.8.0",
    packages=("lens",),
    install_hint="clone github.com/microsoft/Lens and add it to PYTHONPATH (or pip install it from that clone)",
    gpu_memory_gb=52.0,  # Mage-Flow: ~51.6 GB peak on A100 at 1024² (⚠️ secondary)
)
_LENS_NOTES = ("microsoft/Lens* reported removed from the Hub (⚠️); pass --model-path for a mirror. "
               "enable_reasoner is off unless asked and always recorded.")
for _name, _repo, _steps, _cfg, _mirror in (
    ("lens", "microsoft/Lens", 20, 5.0, "Jinstudio/Lens"),
    ("lens-turbo", "microsoft/Lens-Turbo", 4, 1.0, "Jinstudio/Lens-Turbo"),
    ("lens-base", "microsoft/Lens-Base", 50, 5.0, "Jinstudio/Lens-Base"),
):
    _register(ModelSpec(
        name=_name, repo_id=_repo, adapter=LENS, pipeline_class="LensPipeline", family="lens",
        defaults=Defaults(steps=_steps, guidance=_cfg, guidance_kind="cfg", negative_prompt="", height=1024, width=1024),
        constraints=_LENS_CONSTRAINTS, requires=_LENS_REQ, presets=_LENS_PRESETS, params_b=3.8,
        native_size=(1024, 1024), native_presets=True,  # trained on the 1024 and 1440 bucket tables
        licence="MIT (⚠️ per mirror card)", mirrors=(_mirror,), notes=_LENS_NOTES,
        options={"enable_reasoner": False, "dequantize": "auto"},
    ))

# --- Z-Image (models.md §2) -----------------------------------------------------------------------
_ZIMAGE_CONSTRAINTS = Constraints(multiple=16, min_side=256, max_pixels=2048 * 2048, min_aspect=0.25, max_aspect=4.0)
for _name, _repo, _steps, _g, _neg, _min_diffusers, _gb, _notes in (
    ("z-image", "Tongyi-MAI/Z-Image", 50, 4.0, "", "0.37.0", 25.3,
     "README: 28-50 steps, guidance 3-5 (example 50/4). diffusers<0.37 treats guidance in (0,1] as 0 (#12905)."),
    ("z-image-turbo", "Tongyi-MAI/Z-Image-Turbo", 9, 0.0, None, "0.36.0", 24.7,
     "9 steps = 8 DiT forwards; guidance must stay 0 (no CFG, negative prompts have no effect)."),
):
    _register(ModelSpec(
        name=_name, repo_id=_repo, adapter=DIFFUSERS, pipeline_class="ZImagePipeline", family="z-image",
        defaults=Defaults(steps=_steps, guidance=_g, guidance_kind="cfg", negative_prompt=_neg, height=1024,
                          width=1024),
        constraints=_ZIMAGE_CONSTRAINTS, params_b=6.0, licence="Apache-2.0",
        requires=Requirements(min_diffusers=_min_diffusers, gpu_memory_gb=_gb), notes=_notes,
    ))

# --- Qwen-Image (models.md §3). Presets in the README are W×H; stored here as (H, W). ----------------------
_register(ModelSpec(
    name="qwen-image", repo_id="Qwen/Qwen-Image", adapter=DIFFUSERS, pipeline_class="QwenImagePipeline",
    family="qwen-image",
    defaults=Defaults(steps=50, guidance=4.0, guidance_kind="true_cfg", negative_prompt=" ", height=1328, width=1328),
    constraints=Constraints(multiple=16, min_side=256, max_pixels=2048 * 2048, min_aspect=0.25, max_aspect=4.0,
                            min_steps=2),  # scheduler shift_terminal=0.02 (models.md §3): NaN images at 1 step
    presets={"1:1": (1328, 1328), "16:9": (928, 1664), "9:16": (1664, 928), "4:3": (1104, 1472),
             "3:4": (1472, 1104), "3:2": (1056, 1584), "2:3": (1584, 1056)},
    params_b=20.0, licence="Apache-2.0", requires=Requirements(min_diffusers="0.35.0", gpu_memory_gb=58.8),
    native_size=(1328, 1328), native_presets=True,
    notes="true_cfg_scale=4 with negative ' ' (guidance_scale alone silently disables CFG).",
))

# --- HunyuanImage-3.0 (models.md §4): transformers remote code, explicit image size, rewrite off -----------
_register(ModelSpec(
    name="hunyuan-image-3", repo_id="tencent/HunyuanImage-3.0", adapter=HUNYUAN3, family="hunyuan",
    defaults=Defaults(steps=50, guidance=5.0, guidance_kind="cfg", negative_prompt=None, height=1024, width=1024),
    constraints=Constraints(multiple=16, min_side=512, max_pixels=2048 * 2048, min_aspect=0.25, max_aspect=4.0),
    presets={"1:1": (1024, 1024)},
    params_b=80.0, licence="Tencent Hunyuan Community License (not EU/UK/KR)",
    requires=Requirements(min_transformers="4.56.0", trust_remote_code=True, gpu_memory_gb=240.0, min_gpus=3,
                          install_hint="download the repo into a directory whose name has no dots and pass --model-path"),
    options={"bot_task": "image", "use_system_prompt": "None", "flow_shift": 3.0, "attn_implementation": "sdpa",
             "moe_impl": "eager", "device_map": "auto"},
    notes="80B MoE (13B active); >=3x80 GB GPUs. generation_config defaults guidance 5.0 / flow_shift 3.0 are [3rd (?)].",
))

# --- 2026 baselines (update-2026-12.md §2.1, §2.5) ------------------------------------------------------
_register(ModelSpec(
    name="qwen-image-2.1", repo_id="Qwen/Qwen-Image-2.1", adapter=DIFFUSERS, pipeline_class="QwenImage21Pipeline",
    family="qwen-image",
    defaults=Defaults(steps=40, guidance=1.0, guidance_kind="true_cfg", negative_prompt=None, height=2048, width=2048),
    # 16x VAE, latents consumed unpatched in 2x2 groups: sides multiple of 32 (pipeline_qwenimage21.py)
    constraints=Constraints(multiple=32, min_side=512, max_pixels=2752 * 1536, min_aspect=0.25, max_aspect=4.0),
    presets={"1:1": (2048, 2048), "16:9": (1536, 2752), "9:16": (2752, 1536)},
    native_size=(2048, 2048), native_presets=True, params_b=7.0, licence="Qwen Research License Agreement",
    requires=Requirements(min_diffusers="0.42.1", install_hint="pip install -U 'diffusers>=0.42.1' (0.41.x lacks "
                          "QwenImage21Pipeline)"),
    defaults_source=("README: 40 steps at 2048x2048 (native); guidance: QwenImage21Pipeline.__call__ default "
                     "true_cfg_scale=1.0 (no CFG; the README states none). diffusers' output_resolution=1024 only "
                     "sets the size when none is passed; lensbench always passes it (2048x2048 by default)"),
    recorded={"rewriter": "off (Qwen/Qwen-Image-2.1-PE-T2I rewrites prompts and picks the aspect ratio; use "
                          "--rewriter to run one, recorded)", "use_kv_cache": "pipeline default (True)"},
    notes="7B single-stream DiT, Qwen3-VL 8B encoder, 16x RGBA VAE. Presets: only 1:1 and 16:9 (2752x1536) are "
          "stated in the README; 9:16 is its transpose. No published GenEval/DPG (?).",
))
_HY21_PRESETS = {"1:1": (2048, 2048), "16:9": (1536, 2560), "9:16": (2560, 1536), "4:3": (1792, 2304),
                 "3:4": (2304, 1792)}
_HY21_CONSTRAINTS = Constraints(multiple=32, min_side=1024, max_pixels=2048 * 2048, min_aspect=0.25, max_aspect=4.0)
_HY21_RECORDED = {"reprompt": "off (use_reprompt is not part of diffusers' HunyuanImagePipeline; the README "
                              "recommends reprompt + refiner for quality)",
                  "refiner": "off (HunyuanImageRefinerPipeline is a separate model, not run)"}
for _name, _repo, _steps, _g, _kind, _shift, _what in (
    ("hunyuan-image-2.1", "hunyuanvideo-community/HunyuanImage-2.1-Diffusers", 50, 3.5, "guider", 5.0, "base"),
    ("hunyuan-image-2.1-distilled", "hunyuanvideo-community/HunyuanImage-2.1-Distilled-Diffusers", 8, 3.25,
     "distilled_scale", 4.0, "distilled"),
):
    _register(ModelSpec(
        name=_name, repo_id=_repo, adapter=DIFFUSERS, pipeline_class="HunyuanImagePipeline", family="hunyuan",
        defaults=Defaults(steps=_steps, guidance=_g, guidance_kind=_kind, negative_prompt="", height=2048, width=2048),
        constraints=_HY21_CONSTRAINTS, presets=_HY21_PRESETS, native_size=(2048, 2048), native_presets=True,
        params_b=17.0, licence="Tencent Hunyuan Community License (?; check the model card)",
        options={"scheduler_shift": _shift},
        recorded=_HY21_RECORDED,
        notes=f"{_what} settings from the README ({_steps} steps, guidance {_g:g}, shift {_shift:g}); 2K only "
              "(\"1K ... will result in artifacts\"); presets 1:1, 16:9 (2560x1536), 4:3 (2304x1792) from the README, "
              "portrait ones transposed. 17B DiT + MLLM and ByT5 encoders. Diffusers repo ids as in diffusers' "
              "docs (?)",
    ))

# --- Reference models (models.md §5) --------------------------------------------------------------
_register(ModelSpec(
    name="flux1-dev", repo_id="black-forest-labs/FLUX.1-dev", adapter=DIFFUSERS, pipeline_class="FluxPipeline",
    family="flux", defaults=Defaults(steps=50, guidance=3.5, guidance_kind="distilled", height=1024, width=1024),
    params_b=12.0, licence="FLUX.1 [dev] Non-Commercial (gated)", requires=Requirements(min_diffusers="0.30.0"),
))
_register(ModelSpec(
    name="flux2-klein-4b", repo_id="black-forest-labs/FLUX.2-klein-4B", adapter=DIFFUSERS,
    pipeline_class="Flux2KleinPipeline", family="flux2",
    defaults=Defaults(steps=4, guidance=1.0, guidance_kind="distilled", height=1024, width=1024),
    params_b=4.0, licence="Apache-2.0", requires=Requirements(min_diffusers="0.37.0", gpu_memory_gb=19.8),
    notes="step-distilled: 4 steps / guidance 1.0 are fixed by BFL.",
))
_register(ModelSpec(
    name="sd3.5-large", repo_id="stabilityai/stable-diffusion-3.5-large", adapter=DIFFUSERS,
    pipeline_class="StableDiffusion3Pipeline", family="sd3",
    defaults=Defaults(steps=28, guidance=3.5, guidance_kind="cfg", negative_prompt="", height=1024, width=1024),
    params_b=8.1, licence="Stability AI Community License (gated)", requires=Requirements(min_diffusers="0.31.0"),
    notes="diffusers' default guidance is 7.0; 3.5 is the model card's.",
))

# --- Tiny local builds: random weights, real architectures, CPU (lensbench.generators.tiny) ----------------
_TINY_CONSTRAINTS = Constraints(multiple=16, min_side=32, max_pixels=512 * 512, min_aspect=0.25, max_aspect=4.0)
_TINY_DEFAULTS = dict(height=64, width=64, dtype="float32")


def _tiny(name: str, pipeline_class: str, *, steps: int, guidance: float, guidance_kind: str,
          negative_prompt: str | None, adapter: str = DIFFUSERS, constraints: Constraints = _TINY_CONSTRAINTS,
          builder: str | None = None, **spec: object) -> None:
    """Register a tiny local build, made by ``lensbench.generators.tiny:build_<name>`` (``-`` -> ``_``, no dots)
    unless `builder` names another function."""
    builder = builder or f"build_{name.replace('-', '_').replace('.', '')}"
    _register(ModelSpec(
        name=name, repo_id=None, adapter=adapter, pipeline_class=pipeline_class, family="tiny",
        defaults=Defaults(steps=steps, guidance=guidance, guidance_kind=guidance_kind,
                          negative_prompt=negative_prompt, **_TINY_DEFAULTS),
        constraints=constraints, params_b=0.0, licence="MIT (lensbench)",
        local_builder=f"lensbench.generators.tiny:{builder}", **spec,
    ))


_tiny("tiny", "StableDiffusionPipeline", steps=4, guidance=5.0, guidance_kind="cfg", negative_prompt="",
      builder="build_tiny_sd", presets={"1:1": (64, 64), "2:1": (64, 128), "1:2": (128, 64), "128": (128, 128)},
      notes="random weights: images are noise-like; for plumbing, demos and CI only.")
_tiny("tiny-z-image", "ZImagePipeline", steps=2, guidance=0.0, guidance_kind="cfg", negative_prompt=None,
      notes="tiny random ZImagePipeline (same adapter path as z-image).")
_tiny("tiny-qwen-image", "QwenImagePipeline", steps=2, guidance=4.0, guidance_kind="true_cfg", negative_prompt=" ",
      constraints=replace(_TINY_CONSTRAINTS, min_steps=2),
      notes="tiny random QwenImagePipeline (same adapter path as qwen-image); needs >= 2 steps (shift_terminal).")
_tiny("tiny-flux2-klein", "Flux2KleinPipeline", steps=2, guidance=1.0, guidance_kind="distilled",
      negative_prompt=None, notes="tiny random Flux2KleinPipeline (same adapter path as flux2-klein-4b).")
_tiny("tiny-lens", "LensPipeline", steps=2, guidance=5.0, guidance_kind="cfg", negative_prompt="", adapter=LENS,
      constraints=replace(_TINY_CONSTRAINTS, max_pixels=1024 * 1024),  # one real 1024² bucket must fit
      presets={"1:1": (64, 64), "1024/1:1": (1024, 1024)},
      requires=Requirements(packages=("lens",), install_hint=_LENS_REQ.install_hint),
      options={"enable_reasoner": False, "dequantize": "auto"},
      notes="tiny random LensPipeline from the upstream `lens` classes, saved in the published model_index.json "
            "layout (same adapter path as lens); needs `lens` importable.")
for _name, _kind, _g, _shift, _what in (
    ("tiny-hunyuan-image-2.1", "guider", 3.5, 5.0, "base"),
    ("tiny-hunyuan-image-2.1-distilled", "distilled_scale", 3.25, 4.0, "distilled"),
):
    _tiny(_name, "HunyuanImagePipeline", steps=2, guidance=_g, guidance_kind=_kind, negative_prompt="",
          constraints=replace(_TINY_CONSTRAINTS, multiple=32), recorded=_HY21_RECORDED,
          options={"scheduler_shift": _shift},
          notes=f"tiny random HunyuanImagePipeline ({_what}; same adapter path as hunyuan-image-2.1"
                f"{'-distilled' if _what == 'distilled' else ''}); sides multiple of 32 (32x VAE).")
_tiny("tiny-qwen-image-2.1", "QwenImage21Pipeline", steps=2, guidance=1.0, guidance_kind="true_cfg",
      negative_prompt=None, constraints=replace(_TINY_CONSTRAINTS, multiple=32),
      requires=Requirements(min_diffusers="0.42.1"),
      notes="tiny random QwenImage21Pipeline (same adapter path as qwen-image-2.1); RGBA output like the real model.")
