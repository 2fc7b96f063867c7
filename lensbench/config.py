"""RunConfig: the one configuration object shared by the CLI and the Python API.

The CLI builds a RunConfig from its flags (optionally on top of a TOML/JSON file) and calls the same
runner functions a Python user calls. `output_settings()` is the subset that changes images; it goes into
every work-item key, so changing any of it produces new work items, never a silent mix.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from lensbench.errors import UserError

DEFAULT_SEED = 42  # GenEval's reference sampler re-seeds with 42 per prompt


@dataclass
class RunConfig:
    # what
    model: str = "tiny"
    suite: str = "demo"
    suite_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"metadata": path, "language": "zh"}
    out: str = "runs/demo"
    limit: int | None = None  # first N prompt items only
    images_per_prompt: int | None = None  # None: the suite's default
    # how (output-affecting; None = the model's recommended default)
    seed: int = DEFAULT_SEED  # image i of every prompt uses seed + i (CPU generator)
    height: int | None = None
    width: int | None = None
    resolution: str | None = None  # a preset/bucket name of the model, e.g. "1:1" or "16:9"
    steps: int | None = None
    guidance: float | None = None
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
    batch_size: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UserError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.images_per_prompt is not None and self.images_per_prompt < 1:
            raise UserError(f"--images-per-prompt must be at least 1, got {self.images_per_prompt}")
        if self.limit is not None and self.limit < 1:
            raise UserError(f"--limit must be at least 1, got {self.limit}")
        if self.offload not in ("none", "model", "sequential"):
            raise UserError(f"--offload must be none, model or sequential, got {self.offload!r}")
        if self.steps is not None and self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_(self, **changes: Any) -> "RunConfig":
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"unknown config keys {unknown}; known keys: {', '.join(sorted(known))}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> "RunConfig":
        """Load a TOML or JSON config file; `overrides` (e.g. CLI flags that were given) win."""
        p = Path(path)
        try:
            text = p.read_text()
            data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
        except FileNotFoundError:
            raise UserError(f"config file {p} does not exist") from None
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"config file {p} is malformed: {exc}") from None
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data)
