"""`--model diffusers:<repo id or directory>` (or a checkpoint directory alone): a ModelSpec read from the
checkpoint's model_index.json, so SDXL-Turbo, Sana or a user's fine-tune is benchmarked without a registry edit.

What is read, and from where:
- the pipeline class: `_class_name` of model_index.json, looked up in the installed diffusers (an unknown class is a
  one-line error), or provided by an adapter (`LensPipeline`: the `lens` package, loaded by the Lens adapter);
- steps, guidance and negative prompt: the defaults of that class's own `__call__` signature. They are the
  pipeline's defaults, not the model owners' recommendation, and are recorded as such (`defaults_source`, and
  every `__call__` default in the manifest's generator section as `pipeline_call_defaults`). How guidance
  reaches the pipeline follows the signature: `true_cfg_scale` (true CFG with a negative prompt), else
  `guidance_scale` with a `negative_prompt` parameter (CFG), else `guidance_scale` alone (guidance-distilled);
- size constraints: sides must be multiples of the VAE's spatial factor (its declared compression ratio, else
  2^(levels-1) from `vae/config.json`) times the transformer's patch size, or times 2 when that is 1 (most DiT
  pipelines pack latents 2x2). That is the pipeline's own constraint or a stricter one (e.g. 64 for
  HunyuanImage-2.1, which needs 32): never a size the pipeline would silently resize. The default size is the
  UNet's `sample_size` x VAE factor, else 1024x1024;
- dtype on GPU: the text encoder's config `dtype`/`torch_dtype` when it declares one, else bfloat16.
A registered model keeps its owners' recommended settings: this path is only taken for names the registry does
not know.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.generators.base import Constraints, Defaults, ModelSpec
from lensbench.registry import resolve_target

PREFIX = "diffusers:"
DIFFUSERS_ADAPTER = "lensbench.generators.diffusers_adapter:DiffusersGenerator"
#: pipeline classes that diffusers does not ship, with the adapter that loads them (it provides the class)
ADAPTERS = {"LensPipeline": "lensbench.generators.lens_adapter:LensGenerator"}


def is_checkpoint_dir(name: str) -> bool:
    return (Path(name).expanduser() / "model_index.json").is_file()


def wants_spec(name: str) -> bool:
    """True for names this module resolves (`diffusers:...` or a directory holding model_index.json)."""
    return name.startswith(PREFIX) or is_checkpoint_dir(name)


def _json(where: str, filename: str) -> dict | None:
    from lensbench.generators.loading import read_json_file

    return read_json_file(where, filename)


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def call_defaults(cls: type) -> dict[str, Any]:
    """The JSON-able defaults of `cls.__call__` (what the pipeline does when an argument is not passed)."""
    params = inspect.signature(cls.__call__).parameters
    return {k: p.default for k, p in params.items()
            if k != "self" and p.default is not inspect.Parameter.empty and _plain(p.default)}


def _vae_factor(vae: dict | None) -> int:
    if not vae:
        return 8
    for key in ("spatial_compression_ratio", "scale_factor_spatial"):  # declared by the VAE itself
        if isinstance(vae.get(key), int):
            return vae[key]
    for key in ("block_out_channels", "dim_mult"):
        if isinstance(vae.get(key), list) and vae[key]:
            return 2 ** (len(vae[key]) - 1)
    return 8


def _patch(denoiser: dict | None) -> int:
    if not denoiser:
        return 1
    p = denoiser.get("patch_size", denoiser.get("all_patch_size", 1))
    if isinstance(p, list):
        p = p[0] if p else 1
    return int(p) if isinstance(p, int) and p > 0 else 1


def _guidance(params: dict[str, Any], names: set[str], guider: dict | None) -> tuple[str, float]:
    if guider is not None:  # the scale lives in the guider component (HunyuanImage-2.1 base)
        return "guider", float(guider.get("guidance_scale", 0.0))
    if "distilled_guidance_scale" in names:  # a guidance embedding, no CFG pass (HunyuanImage-2.1 distilled)
        return "distilled_scale", float(params.get("distilled_guidance_scale") or 0.0)
    if "true_cfg_scale" in names:
        return "true_cfg", float(params.get("true_cfg_scale", 1.0))
    if "guidance_scale" in names:
        kind = "cfg" if "negative_prompt" in names else "distilled"
        return kind, float(params.get("guidance_scale") or 0.0)
    return "distilled", 0.0


def spec_from_checkpoint(name: str) -> ModelSpec:
    """The ModelSpec of `diffusers:<where>` or of a checkpoint directory `name`."""
    where = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if not where:
        raise UserError("--model diffusers: needs a repo id or directory, "
                        "e.g. --model diffusers:stabilityai/sdxl-turbo")
    looks_local = where.startswith(("/", ".", "~")) or where.count("/") > 1 or "\\" in where
    if looks_local and not Path(where).expanduser().is_dir():
        raise UserError(f"--model diffusers:{where}: no such directory; pass a diffusers pipeline directory (with "
                        "model_index.json) or a Hub repo id")
    try:
        index = _json(where, "model_index.json")
    except (OSError, ValueError) as exc:  # offline and not cached, or not a valid repo id
        raise UserError(f"cannot read model_index.json of {where} ({str(exc).splitlines()[0][:120]}); pass a local "
                        "diffusers pipeline directory, or run once with a network (or `huggingface-cli download`)"
                        ) from exc
    if index is None or "_class_name" not in index:
        raise UserError(f"{where} has no model_index.json with a _class_name: --model diffusers: needs a diffusers "
                        "pipeline checkpoint (a directory or repo id with model_index.json)")
    import diffusers

    cls_name = str(index["_class_name"])
    adapter = ADAPTERS.get(cls_name, DIFFUSERS_ADAPTER)
    cls = resolve_target(adapter).pipeline_class_for(cls_name) if adapter != DIFFUSERS_ADAPTER else \
        getattr(diffusers, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, diffusers.DiffusionPipeline)):
        raise UserError(f"{where} declares pipeline class {cls_name}, which diffusers {diffusers.__version__} does "
                        "not have; upgrade diffusers (pip install -U diffusers) or use a registered model "
                        "(lensbench models)")
    defaults = call_defaults(cls)
    names = set(inspect.signature(cls.__call__).parameters)
    components = {k for k, v in index.items() if isinstance(v, list) and v and v[0] is not None}
    guider = (_json(where, "guider/guider_config.json") or {}) if "guider" in components else None
    kind, guidance = _guidance(defaults, names, guider)
    vae = _json(where, "vae/config.json") if "vae" in components else None
    denoiser_name = next((n for n in ("transformer", "unet") if n in components), None)
    denoiser = _json(where, f"{denoiser_name}/config.json") if denoiser_name else None
    factor = _vae_factor(vae)
    patch = _patch(denoiser)
    multiple = factor * (patch if patch > 1 else (2 if denoiser_name == "transformer" else 1))
    side = 1024
    if denoiser_name == "unet" and isinstance((denoiser or {}).get("sample_size"), int):
        side = denoiser["sample_size"] * factor
    side = max(multiple, side - side % multiple)
    encoder = (_json(where, "text_encoder/config.json") if "text_encoder" in components else None) or {}
    dtype = str(encoder.get("dtype") or encoder.get("torch_dtype") or "bfloat16")
    negative = defaults.get("negative_prompt") if isinstance(defaults.get("negative_prompt"), str) else None
    return ModelSpec(
        name=name if name.startswith(PREFIX) else PREFIX + where,
        repo_id=where,
        adapter=adapter,
        pipeline_class=cls_name,
        family="diffusers",
        defaults=Defaults(steps=int(defaults.get("num_inference_steps") or 50), guidance=guidance, guidance_kind=kind,
                          negative_prompt=negative, height=side, width=side,
                          dtype=dtype if dtype in ("float32", "float16", "bfloat16") else "bfloat16"),
        constraints=Constraints(multiple=multiple, min_side=multiple, max_pixels=4096 * 4096),
        licence="see the checkpoint's model card",
        defaults_source=f"{cls_name}.__call__ defaults ({cls.__module__}; diffusers {diffusers.__version__}), not an "
                        "owner recommendation",
        call_defaults=defaults,
        notes=f"built from {where}/model_index.json: VAE factor {factor}, patch {patch} -> sides multiple of "
              f"{multiple}",
    )
