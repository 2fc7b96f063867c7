"""Planning: resolve the output-affecting settings, expand suite items × images into work items with
deterministic keys, and cut them into fixed batches.

Batches are cut from the *whole* plan before sharding or skipping finished work, so an image is always
made in the same batch company: a resumed run, or a run sharded over several ranks, produces exactly the
images of an uninterrupted single-process run even where a pipeline is not batch-invariant.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.generators.base import GenerationRequest, ModelSpec, check_resolution
from lensbench.rewriters import Rewriter
from lensbench.suites.base import PromptItem, Suite

SEED_POLICY = "seed_i = base_seed + image_index (same for every prompt); one CPU torch.Generator per image"


def canonical_hash(obj: Any, n: int = 64) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:n]


def resolve_size(cfg: RunConfig, spec: ModelSpec) -> tuple[int, int]:
    if cfg.resolution is not None:
        if cfg.height is not None or cfg.width is not None:
            raise UserError("give either --resolution or --height/--width, not both")
        if cfg.resolution not in spec.presets:
            names = ", ".join(spec.presets) or "none"
            raise UserError(f"{spec.name} has no resolution preset {cfg.resolution!r}; presets: {names}; or pass --height/--width")
        return spec.presets[cfg.resolution]
    h = cfg.height if cfg.height is not None else spec.defaults.height
    w = cfg.width if cfg.width is not None else spec.defaults.width
    return h, w


def resolve_settings(cfg: RunConfig, spec: ModelSpec, dtype_name: str, rewriter: Rewriter) -> dict[str, Any]:
    """Everything that changes the images. It goes into every work-item key and the manifest."""
    h, w = resolve_size(cfg, spec)
    check_resolution(spec, h, w)
    d = spec.defaults
    return {
        "model": spec.name,
        "weights": cfg.model_path or spec.repo_id or f"local:{spec.local_builder}",
        "revision": cfg.revision,
        "dtype": dtype_name,
        "height": h,
        "width": w,
        "steps": cfg.steps if cfg.steps is not None else d.steps,
        "guidance": float(cfg.guidance if cfg.guidance is not None else d.guidance),
        "guidance_kind": d.guidance_kind,
        "negative_prompt": cfg.negative_prompt if cfg.negative_prompt is not None else d.negative_prompt,
        "model_options": {**dict(spec.options), **cfg.model_options},
        "rewriter": rewriter.identity(),
        "seed_policy": SEED_POLICY,
    }


@dataclass(frozen=True)
class WorkItem:
    key: str
    item: PromptItem
    index: int
    seed: int
    image: str  # relpath in the run directory
    request: GenerationRequest


def build_plan(cfg: RunConfig, suite: Suite, settings: dict[str, Any]) -> list[WorkItem]:
    items = suite.items()[: cfg.limit] if cfg.limit else suite.items()
    n = cfg.images_per_prompt or suite.default_images_per_prompt
    if suite.max_images_per_prompt is not None and n > suite.max_images_per_prompt:
        raise UserError(f"suite {suite.name!r} holds at most {suite.max_images_per_prompt} images per prompt; "
                        f"pass --images-per-prompt {suite.max_images_per_prompt} or fewer")
    plan = []
    for item in items:
        for i in range(n):
            seed = cfg.seed + i
            key = canonical_hash({"settings": settings, "suite": suite.name, "item": item.id, "index": i,
                                  "prompt": item.prompt, "seed": seed}, 32)
            req = GenerationRequest(prompt=item.prompt, seed=seed, height=settings["height"], width=settings["width"],
                                    steps=settings["steps"], guidance=settings["guidance"],
                                    negative_prompt=settings["negative_prompt"])
            plan.append(WorkItem(key=key, item=item, index=i, seed=seed, image=suite.image_relpath(item, i), request=req))
    return plan


def cut_batches(plan: list[WorkItem], batch_size: int) -> list[list[WorkItem]]:
    """Consecutive work items with the same batch signature, in chunks of at most batch_size."""
    batches: list[list[WorkItem]] = []
    for wi in plan:
        if batches and len(batches[-1]) < batch_size and batches[-1][0].request.batch_signature() == wi.request.batch_signature():
            batches[-1].append(wi)
        else:
            batches.append([wi])
    return batches


def shard(batches: list[list[WorkItem]], rank: int, world_size: int) -> list[list[WorkItem]]:
    """Round-robin over batches: disjoint, covering, stable."""
    return batches[rank::world_size]
