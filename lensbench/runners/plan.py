"""Planning: resolve the output-affecting settings, expand suite items × images into work items with
deterministic keys, and cut them into fixed batches.

Batches are cut from the *whole* plan before sharding or skipping finished work, so an image is always
made in the same batch company: a resumed run, or a run sharded over several ranks, produces exactly the
images of an uninterrupted single-process run even where a pipeline is not batch-invariant.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lensbench.config import MAX_SEED, RunConfig
from lensbench.errors import UserError
from lensbench.generators.base import CORE_ARGUMENTS, GenerationRequest, ModelSpec, check_resolution
from lensbench.generators.weights import key_identity, weights_identity
from lensbench.registry import resolve_target
from lensbench.rewriters import Rewriter
from lensbench.suites.base import PromptItem, Suite

SEED_POLICY = "seed_i = base_seed + image_index (same for every prompt); one CPU torch.Generator per image"


def canonical_hash(obj: Any, n: int = 64) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:n]


def resolve_size(cfg: RunConfig, spec: ModelSpec) -> tuple[int, int]:
    if cfg.resolution is not None:
        if cfg.height is not None or cfg.width is not None:
            raise UserError("give either --resolution or --height/--width, not both")
        if cfg.resolution == "native":  # the model's declared native size (ModelSpec.native)
            return spec.native
        if cfg.resolution not in spec.presets:
            names = ", ".join(spec.presets) or "none"
            raise UserError(f"{spec.name} has no resolution preset {cfg.resolution!r}; presets: {names}; or pass --height/--width")
        return spec.presets[cfg.resolution]
    h = cfg.height if cfg.height is not None else spec.defaults.height
    w = cfg.width if cfg.width is not None else spec.defaults.width
    return h, w


PASS = "pass."  # -M pass.KEY=VALUE: an explicit, recorded pass-through call argument the adapter does not declare


def check_model_options(spec: ModelSpec, options: dict[str, Any]) -> None:
    """Refuse -M keys that name a core call argument (use the flag) and keys the adapter does not declare."""
    known = resolve_target(spec.adapter).option_names(spec)
    for key in options:
        name = key[len(PASS):] if key.startswith(PASS) else key
        if not name:
            raise UserError(f"-M {key}: name the call argument after 'pass.' (e.g. -M pass.max_sequence_length=256)")
        if name in CORE_ARGUMENTS:
            flag = CORE_ARGUMENTS[name]
            how = f"use the flag {flag}" if flag.startswith("--") else "lensbench sets it itself; drop it"
            raise UserError(f"-M {key}={options[key]} names a core setting of every image ({name}); {how}, so the "
                            "record says what made the image")
    unknown = sorted(k for k in options if not k.startswith(PASS) and k not in known)
    if unknown:
        raise UserError(f"unknown model option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for {spec.name}; "
                        f"known: {', '.join(known) or 'none'}; to send another call argument as it is, pass "
                        f"-M {PASS}{unknown[0]}=VALUE (recorded)")


def load_model_options(options: dict[str, Any]) -> dict[str, Any]:
    """The model options an adapter loads with (pass-through keys travel in GenerationRequest.extra)."""
    return {k: v for k, v in options.items() if not k.startswith(PASS)}


def pass_through(options: dict[str, Any]) -> dict[str, Any]:
    return {k[len(PASS):]: v for k, v in sorted(options.items()) if k.startswith(PASS)}


def resolve_settings(cfg: RunConfig, spec: ModelSpec, dtype_name: str, rewriter: Rewriter) -> dict[str, Any]:
    """Everything that changes the images. It goes into every work-item key and the manifest.

    `threads` (CPU numerics) and `batch_size` (batch company on models that are not batch-invariant) are in
    here too: a resume or another cell with other values makes other work items, never a silent mix."""
    h, w = resolve_size(cfg, spec)
    check_resolution(spec, h, w)
    check_model_options(spec, cfg.model_options)
    d = spec.defaults
    steps = cfg.steps if cfg.steps is not None else d.steps
    if steps < spec.constraints.min_steps:
        raise UserError(f"{spec.name} needs at least {spec.constraints.min_steps} steps, got --steps {steps}; "
                        f"pass --steps {spec.constraints.min_steps} or more")
    return {
        "model": spec.name,
        "weights": cfg.model_path or spec.repo_id or f"local:{spec.local_builder}",
        # resolved Hub commit / local content fingerprint (issue 13 item 5): other weights make other work items
        "weights_identity": key_identity(weights_identity(spec, cfg.model_path, cfg.revision)),
        "revision": cfg.revision,
        "dtype": dtype_name,
        "height": h,
        "width": w,
        "steps": steps,
        "guidance": float(cfg.guidance if cfg.guidance is not None else d.guidance),
        "guidance_kind": d.guidance_kind,
        "negative_prompt": cfg.negative_prompt if cfg.negative_prompt is not None else d.negative_prompt,
        "model_options": {**dict(spec.options), **cfg.model_options},
        "rewriter": rewriter.identity(),
        "seed_policy": SEED_POLICY,
        "threads": cfg.threads,
        "batch_size": cfg.batch_size,
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
    if cfg.seed + n - 1 > MAX_SEED:
        raise UserError(f"--seed {cfg.seed} with {n} images per prompt exceeds the largest seed {MAX_SEED}; pass a smaller --seed")
    extra = pass_through(settings["model_options"])
    plan = []
    for item in items:
        for i in range(n):
            seed = cfg.seed + i
            key = canonical_hash({"settings": settings, "suite": suite.name, "item": item.id, "index": i,
                                  "prompt": item.prompt, "seed": seed}, 32)
            req = GenerationRequest(prompt=item.prompt, seed=seed, height=settings["height"], width=settings["width"],
                                    steps=settings["steps"], guidance=settings["guidance"],
                                    negative_prompt=settings["negative_prompt"], extra=extra)
            plan.append(WorkItem(key=key, item=item, index=i, seed=seed, image=suite.image_relpath(item, i), request=req))
    return plan


def check_paths(plan: list[WorkItem], run_dir: str | os.PathLike) -> None:
    """Every image path stays inside the run directory (after resolving links and ``..``) and no two work items
    share one: refuse with a one-line error naming the item ids, before anything is written."""
    root = Path(run_dir).resolve()
    owner: dict[str, WorkItem] = {}
    parents: dict[Path, Path] = {}  # resolving each folder once keeps this cheap for suites of thousands of images
    for w in plan:
        p = Path(w.image)
        parent = parents.get(p.parent)
        if parent is None:
            parent = parents[p.parent] = (root / p.parent).resolve()
        target = parent / p.name
        if p.is_absolute() or ".." in p.parts or not target.is_relative_to(root) or target == root:
            raise UserError(f"suite item id {w.item.id!r} gives the image path {w.image!r}, outside the run directory; "
                            "rename the item (ids are used in file names)")
        slot = str(target).casefold()  # case-insensitive filesystems (macOS, Windows) would merge "Cat" and "cat"
        other = owner.get(slot)
        if other is not None and (other.item.id, other.index) != (w.item.id, w.index):
            raise UserError(f"suite items {other.item.id!r} and {w.item.id!r} map to the same image file {w.image!r}; "
                            "rename one of them (ids must stay distinct after unsafe characters become '_', "
                            "ignoring case)")
        owner[slot] = w


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
