"""Shared loading helpers for adapters: device and dtype resolution, where the weights come from,
placement (device / CPU offload), per-image CPU noise generators, and clear errors for missing pieces."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from lensbench.errors import UserError, short_cause
from lensbench.generators.base import LoadOptions, ModelSpec
from lensbench.util.device import resolve_device  # noqa: F401 - the one device policy, used by adapters

DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16",
          "bfloat16": "bfloat16", "bf16": "bfloat16"}


def resolve_dtype_name(spec: ModelSpec, dtype: str | None, device: str) -> str:
    """The dtype name used: explicit, else the model's default on GPU, float32 on CPU."""
    if dtype is None:
        return spec.defaults.dtype if device.startswith("cuda") else "float32"
    if dtype not in DTYPES:
        raise UserError(f"unknown --dtype {dtype!r}; use one of float32, float16, bfloat16")
    return DTYPES[dtype]


def torch_dtype(name: str):
    import torch

    return getattr(torch, name)


def weights_location(spec: ModelSpec, load: LoadOptions) -> str:
    """A local directory or a Hub repo id. Tiny models are built locally on first use."""
    if load.model_path:
        return load.model_path
    if spec.local_builder:
        from lensbench.generators.tiny import ensure_built

        return str(ensure_built(spec.name))
    if spec.repo_id is None:
        raise UserError(f"model {spec.name} has no repository id; pass --model-path DIR")
    return spec.repo_id


def missing_weights_error(spec: ModelSpec, where: str, exc: BaseException) -> UserError:
    first = short_cause(exc, 160)
    if is_local_dir(where):  # the user's directory: say what is in it, not "download"
        index = Path(where).expanduser() / "model_index.json"
        found = None
        if index.is_file():
            try:
                import json

                found = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
            except (OSError, ValueError, AttributeError):
                found = None
        if found and spec.pipeline_class and found != spec.pipeline_class:
            return UserError(f"{where} holds a {found} checkpoint, but {spec.name} loads a {spec.pipeline_class}; pass "
                             f"--model-path to a {spec.pipeline_class} checkpoint, or a --model whose pipeline is {found} "
                             "(see `lensbench models`)")
        return UserError(f"cannot load {spec.name} from the directory {where} ({first}); it must hold the complete "
                         f"checkpoint in the published layout (e.g. `lensbench fetch {spec.name} --to {where}` on a "
                         "machine with a network)")
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    why = "the Hugging Face hub is offline (HF_HUB_OFFLINE=1)" if offline else "they could not be found or downloaded"
    if os.environ.get("LENSBENCH_HUB_UNREACHABLE") == "1":  # set by the CLI's hub probe (lensbench.util.terminal)
        why = "the Hugging Face hub is unreachable from here (no network), so only local copies count"
    return UserError(
        f"cannot load weights for {spec.name} from {where}: {why} ({first}); on a machine with a network run "
        f"`lensbench fetch {spec.name}`, or pass --model-path to a local copy"
    )


def check_min_version(package: str, minimum: str | None, what: str) -> None:
    if not minimum:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        have = version(package)
    except PackageNotFoundError:
        raise UserError(f"{what} needs {package}>={minimum}, which is not installed; pip install '{package}>={minimum}'") from None
    if _vtuple(have) < _vtuple(minimum):
        raise UserError(f"{what} needs {package}>={minimum} but {have} is installed; pip install -U '{package}>={minimum}'")


def _vtuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("+")[0].split("."):
        digits = "".join(c for c in part if c.isdigit())
        if not digits:
            break
        out.append(int(digits))
        if not part.isdigit():
            break
    return tuple(out)


def place(pipe: Any, device: str, offload: str) -> None:
    """Move a diffusers-style pipeline to `device`, or enable CPU offload towards it."""
    if offload == "none":
        pipe.to(device)
        return
    if not device.startswith("cuda"):
        raise UserError(f"--offload {offload} needs a CUDA device; use --offload none on {device}")
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.enable_sequential_cpu_offload(device=device)


def cpu_generators(seeds: list[int]) -> list:
    """One CPU torch.Generator per image: the same seed gives the same starting noise on any hardware."""
    import torch

    return [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]


def library_versions() -> dict[str, str | None]:
    return dict(_library_versions())


@functools.lru_cache(maxsize=1)  # package metadata costs ~2 ms per read and cannot change within a process
def _library_versions() -> tuple[tuple[str, str | None], ...]:
    from lensbench.util.identity import package_version

    return tuple((pkg, package_version(pkg)) for pkg in ("torch", "diffusers", "transformers", "accelerate"))


def quiet_hub_progress() -> None:
    """No per-file loading progress bars or chatty warnings from diffusers/transformers; lensbench shows its
    own progress and turns loading failures into one-line errors."""
    import warnings

    import diffusers
    import transformers

    for lib in (diffusers, transformers):
        lib.utils.logging.disable_progress_bar()
        lib.utils.logging.set_verbosity_error()
    for module in ("diffusers", "transformers"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)


def dtype_kwargs(dtype) -> dict:
    """`dtype=` for diffusers >= 0.42 (where `torch_dtype` is deprecated), `torch_dtype=` before."""
    from importlib.metadata import version

    return {"dtype": dtype} if _vtuple(version("diffusers")) >= (0, 42) else {"torch_dtype": dtype}


def is_local_dir(where: str) -> bool:
    return Path(where).expanduser().is_dir()


def call_pipeline(pipe: Any, kwargs: dict, step_callback=None) -> list:
    """Call a diffusers-style pipeline under inference mode, with an optional per-step callback
    (`callback_on_step_end(pipe, i, t, tensors)` must return the tensors dict); returns the PIL images."""
    import torch

    if step_callback is not None:
        def _on_step_end(_pipe, i, t, cb_kwargs):
            step_callback(i, t)
            return cb_kwargs

        kwargs = {**kwargs, "callback_on_step_end": _on_step_end}
    with torch.inference_mode():
        return list(pipe(**kwargs).images)


def read_json_file(where: str, filename: str, revision: str | None = None) -> dict | None:
    """A JSON file of a checkpoint (local directory or Hub repo id; the Hub honours HF_HUB_OFFLINE and its cache),
    or None when it does not exist there."""
    import json

    if is_local_dir(where):
        path = Path(where).expanduser() / filename
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    import huggingface_hub
    from huggingface_hub import errors

    try:
        path = huggingface_hub.hf_hub_download(where, filename, revision=revision)
    except errors.LocalEntryNotFoundError:
        raise  # offline and not cached: the caller reports missing weights
    except (errors.EntryNotFoundError, errors.RemoteEntryNotFoundError):
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def pipeline_components(index: dict) -> dict[str, tuple[str | None, str | None]]:
    """model_index.json component entries: name -> (library, class name); (None, None) for empty slots."""
    return {k: (v[0], v[1]) for k, v in index.items()
            if not k.startswith("_") and isinstance(v, list) and len(v) == 2}


def load_component(cls: Any, where: str, name: str, *, revision: str | None, dtype: Any, **extra: Any) -> Any:
    """One pipeline component with its own class's `from_pretrained(where, subfolder=name)`; torch modules get
    the dtype (`dtype=` for transformers 5 / diffusers >= 0.42, else `torch_dtype=`)."""
    import torch

    kwargs: dict[str, Any] = {"subfolder": name, "revision": revision, **extra}
    if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
        from diffusers import ModelMixin

        kwargs.update(dtype_kwargs(dtype) if issubclass(cls, ModelMixin) else {"dtype": dtype})
    return cls.from_pretrained(where, **kwargs)
