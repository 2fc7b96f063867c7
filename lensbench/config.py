"""RunConfig: the one configuration object shared by the CLI and the Python API.

The CLI builds a RunConfig from its flags (optionally on top of a TOML/JSON file) and calls the same
runner functions a Python user calls. `output_settings()` is the subset that changes images; it goes into
every work-item key, so changing any of it produces new work items, never a silent mix.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.filecheck import check_fields, read_table

DEFAULT_SEED = 42  # GenEval's reference sampler re-seeds with 42 per prompt
#: CPU threads for torch in every process (plain, torchrun rank, resume): CPU kernels reduce in thread-count
#: dependent order, so the same settings give different bytes with 1 and 2 threads. Fixed, not "all cores".
DEFAULT_THREADS = 1
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a 64-bit integer; seeds are seed + image index
#: set only by the CLI flag or the Python argument, never by a file (a shared file must not run remote code)
FILE_FORBIDDEN = ("trust_remote_code",)


@dataclass
class ModelSettings:
    """The model / sampling / loading fields every run kind shares (RunConfig, lensbench.speed.SpeedConfig),
    with their validation and the file/dict constructors. Each run kind adds its own fields."""

    model: str = "tiny"
    seed: int = DEFAULT_SEED  # image i of every prompt (speed: of every batch) uses seed + i (CPU generator)
    guidance: float | None = None  # None = the model's recommended default
    negative_prompt: str | None = None
    dtype: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    rewriter: str = "none"
    rewriter_options: dict[str, Any] = field(default_factory=dict)
    # where / loading (does not change images, except through dtype and device numerics)
    model_path: str | None = None
    revision: str | None = None
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    offload: str = "none"  # none | model | sequential
    trust_remote_code: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.guidance, float) and not math.isfinite(self.guidance):
            raise UserError(f"--guidance must be a finite number, got {self.guidance}")
        check_fields(type(self), {f.name: getattr(self, f.name) for f in fields(self)}, where="run settings")
        if self.offload not in ("none", "model", "sequential"):
            raise UserError(f"--offload must be none, model or sequential, got {self.offload!r}")
        if not 0 <= self.seed <= MAX_SEED:
            raise UserError(f"--seed must lie in 0..{MAX_SEED} (a 64-bit generator seed), got {self.seed}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_(self, **changes: Any):
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "config"):
        """Build from a table (a config file, a grid cell): unknown keys and wrongly typed values are refused,
        naming the key, the expected type and `where`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"{where}: unknown config keys {unknown}; known keys: {', '.join(sorted(known))}")
        check_fields(cls, data, where=where)
        return cls(**data)

    @classmethod
    def _expand_file_keys(cls, data: dict[str, Any], *, where: str) -> dict[str, Any]:
        """File-only spellings of fields (RunConfig: ``size = "WxH"``), expanded before flags override them."""
        return data

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any):
        """Load a TOML or JSON config file; `overrides` (e.g. CLI flags that were given) win.

        ``trust_remote_code = true`` in a file is refused: remote code runs only with the CLI flag or the
        Python argument (a config file may come from someone else)."""
        p = Path(path)
        fmt = "toml" if p.suffix.lower() == ".toml" else "json"
        data = read_table(p, "config file", fmt=fmt)
        refuse_file_only(data, f"config file {p}")
        data = cls._expand_file_keys(data, where=f"config file {p}")
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data, where=f"config file {p}")


@dataclass
class RunConfig(ModelSettings):
    # what (the model and the shared sampling/loading fields: ModelSettings)
    suite: str = "demo"
    suite_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"metadata": path, "language": "zh"}
    out: str = "runs/demo"
    limit: int | None = None  # first N prompt items only
    images_per_prompt: int | None = None  # None: the suite's default
    # how (output-affecting; None = the model's recommended default)
    height: int | None = None
    width: int | None = None
    resolution: str | None = None  # a preset/bucket name of the model, e.g. "1:1" or "16:9"
    steps: int | None = None
    batch_size: int = 1
    threads: int = DEFAULT_THREADS  # torch.set_num_threads in every rank (recorded; part of the run identity)

    @classmethod
    def _expand_file_keys(cls, data: dict[str, Any], *, where: str) -> dict[str, Any]:
        return expand_size(data, where=where)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "config"):
        return super().from_dict(expand_size(data, where=where), where=where)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch_size < 1:
            raise UserError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.images_per_prompt is not None and self.images_per_prompt < 1:
            raise UserError(f"--images-per-prompt must be at least 1, got {self.images_per_prompt}")
        if self.limit is not None and self.limit < 1:
            raise UserError(f"--limit must be at least 1, got {self.limit}")
        if self.steps is not None and self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}")
        if self.threads < 1:
            raise UserError(f"--threads must be at least 1, got {self.threads}")
        for name in ("height", "width"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"--{name} must be at least 1, got {value}")


def expand_size(data: dict[str, Any], *, where: str) -> dict[str, Any]:
    """``size = "1024x768"`` (W×H, like ``--size``) -> height/width; together with height or width it is refused."""
    if "size" not in data:
        return data
    from lensbench.util.sizes import parse_size

    data = dict(data)
    size = data.pop("size")
    both = [k for k in ("height", "width") if data.get(k) is not None]
    if both:
        raise UserError(f"{where}: give either size = \"WxH\" or height/width, not both (size = {size!r}, "
                        f"{' and '.join(f'{k} = {data[k]!r}' for k in both)})")
    data["height"], data["width"] = parse_size(size, f"{where}: size")
    return data


def refuse_file_only(data: dict[str, Any], where: str) -> None:
    """Settings a file may not turn on (see FILE_FORBIDDEN)."""
    for key in FILE_FORBIDDEN:
        if data.get(key) not in (None, False):
            raise UserError(f"{where} sets {key} = {data[key]!r}; a file cannot allow remote code: remove it and "
                            f"pass --{key.replace('_', '-')} on the command line")
