"""The generate runner: plan → skip finished work → generate in fixed batches → atomic image + record.

Python API: ``run_generate(RunConfig(...))``; the CLI calls exactly this.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from dataclasses import dataclass
from typing import Any

import lensbench
from lensbench.config import RunConfig
from lensbench.dist import Coordinator, DistContext
from lensbench.errors import Interrupted, UserError
from lensbench.generators import MODELS, Generator, LoadOptions, make_generator
from lensbench.generators.weights import model_provenance
from lensbench.rewriters import make_rewriter
from lensbench.runners.finalize import Finalizer
from lensbench.runners.oom import Backoff, summarize_events
from lensbench.runners.plan import (SEED_POLICY, WorkItem, build_plan, canonical_hash, check_paths, cut_batches,
                                    load_model_options, resolve_settings, shard)
from lensbench.runners.progress import progress_bar
from lensbench.store import manifest as mf
from lensbench.store.commit import BatchCommitter
from lensbench.store.integrity import record_problem
from lensbench.store.run_store import RunStore
from lensbench.suites import load_suite

STREAM = "generate"
EVENTS = "events"  # OOM back-offs and other runtime events, one stream per rank


def _dtype_and_device(cfg: RunConfig, spec, dist: DistContext) -> tuple[str, str]:
    from lensbench.generators.loading import resolve_device, resolve_dtype_name

    device = resolve_device(dist.device_for(cfg.device))
    return resolve_dtype_name(spec, cfg.dtype, device), device


@dataclass(frozen=True)
class Prepared:
    """What `prepare` resolved for a run: model spec, suite, rewriter, image settings, device, plan, batches."""

    spec: Any
    suite: Any
    rewriter: Any
    settings: dict[str, Any]
    device: str
    plan: list[WorkItem]
    batches: list[list[WorkItem]]
    dist: DistContext


def prepare(cfg: RunConfig, dist: DistContext | None = None) -> Prepared:
    """Resolve model, suite, settings and the plan without loading any model (used by --dry-run too)."""
    dist = dist or DistContext.from_env()
    spec = MODELS.get(cfg.model)
    suite = load_suite(cfg.suite, None, cfg.suite_options)
    rewriter = make_rewriter(cfg.rewriter, cfg.rewriter_options, trust_remote_code=cfg.trust_remote_code)
    dtype_name, device = _dtype_and_device(cfg, spec, dist)
    settings = resolve_settings(cfg, spec, dtype_name, rewriter)
    plan = build_plan(cfg, suite, settings)
    check_paths(plan, cfg.out)
    batches = cut_batches(plan, cfg.batch_size)
    return Prepared(spec=spec, suite=suite, rewriter=rewriter, settings=settings, device=device, plan=plan,
                    batches=batches, dist=dist)


def _is_done(store: RunStore, rec: dict[str, Any] | None, verify: bool = False) -> bool:
    """Finished = an ok record whose image is intact: recorded size, PNG signature and IEND chunk; with
    `verify`, also the recorded sha256. A missing, torn or corrupt image is made again."""
    if not rec or rec.get("status") != "ok":
        return False
    return record_problem(store.run_dir, rec, verify=verify) is None


def identity(cfg: RunConfig, settings: dict[str, Any]) -> dict[str, Any]:
    """What a run directory is bound to once it holds an image: every output-affecting setting and the seed."""
    return {**settings, "seed": cfg.seed}


def _changed(old_gen: dict[str, Any], new: dict[str, Any]) -> list[str]:
    def show(v: Any) -> str:
        return "(not recorded)" if v is None else json.dumps(v, sort_keys=True, default=str)[:40]

    return [f"{k} {show(old_gen.get(k))} -> {show(v)}" for k, v in new.items() if old_gen.get(k) != v]


def _check_manifest(store: RunStore, cfg: RunConfig, ctx: Prepared) -> dict[str, Any] | None:
    """The run directory's earlier manifest when this run may continue it; refuse other settings or suites.

    A directory whose earlier run committed no image is not bound to anything (a failed first attempt must not
    pin its settings): it is taken over. Otherwise every output-affecting setting, the seed and the suite
    must be the same; a change is refused naming what changed (never written over the old images)."""
    old = store.read_manifest()
    if old is None:
        return None
    suite, settings = ctx.suite, ctx.settings
    changed = _changed(old.get("generation") or {}, identity(cfg, settings))
    if old.get("settings_hash") != canonical_hash(settings) and not changed:
        changed = ["settings"]
    if old.get("suite", {}).get("name") != suite.name:
        changed.append(f"suite {old.get('suite', {}).get('name')} -> {suite.name}")
    if old.get("suite", {}).get("checksum") != suite.checksum():
        changed.append("suite content")
    if not store.done_keys(STREAM):
        return None if changed else old  # nothing made yet: not bound (same settings keep the run id)
    if changed == ["suite content"]:
        raise UserError(f"{store.run_dir} was generated from a different version of suite {suite.name!r}; use a new --out")
    if changed:
        raise UserError(f"{store.run_dir} already holds a run with different settings ({'; '.join(changed[:4])}); "
                        "use a new --out for these settings (the finished images are kept as they are)")
    return old


def _check_no_overwrite(records: dict[str, dict[str, Any]], plan: list[WorkItem], run_dir: Path) -> None:
    """No planned image may land on a path that a committed record of another work item holds."""
    held = {r.get("image"): r for r in records.values() if r.get("status") == "ok"}
    for w in plan:
        rec = held.get(w.image)
        if rec is not None and rec.get("key") != w.key:
            raise UserError(f"{run_dir} holds a finished image at {w.image} made with other settings (item "
                            f"{rec.get('item_id')!r}, seed {rec.get('seed')}); it is never overwritten: use a new --out")


def _manifest(cfg: RunConfig, ctx: Prepared, settings_hash: str, old: dict[str, Any] | None) -> dict[str, Any]:
    spec, suite = ctx.spec, ctx.suite
    return {
        "schema_version": 1,
        "run_id": (old or {}).get("run_id") or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}",
        "lensbench_version": lensbench.__version__,
        "command": mf.command_line(),
        "started": mf.utc_now(),
        "finished": None,
        "git": mf.git_info(),
        "model": {"name": spec.name, "repo_id": spec.repo_id, "model_path": cfg.model_path, "params_b": spec.params_b,
                  "family": spec.family, "licence": spec.licence, "adapter": spec.adapter,
                  **model_provenance(spec, cfg.model_path, cfg.revision,
                                     [(ctx.settings["height"], ctx.settings["width"])])},
        "generation": {**ctx.settings, "seed": cfg.seed, "seed_policy": SEED_POLICY, "noise_device": "cpu",
                       "images_per_prompt": cfg.images_per_prompt or suite.default_images_per_prompt,
                       "batch_size": cfg.batch_size, "threads": cfg.threads, "device": ctx.device,
                       "offload": cfg.offload},
        # what this run set out to make (the score runner reports coverage against it)
        "planned": {"images": len(ctx.plan), "prompts": len({w.item.id for w in ctx.plan}),
                    "prompts_in_suite": len(suite), "images_per_prompt": cfg.images_per_prompt or suite.default_images_per_prompt,
                    "limit": cfg.limit},
        "settings_hash": settings_hash,
        "suite": suite.describe(),
        "config": cfg.to_dict(),
        "environment": mf.environment(ctx.device),
        "world_size": ctx.dist.world_size,
        "previous_starts": ((old or {}).get("previous_starts") or []) + ([old["started"]] if old else []),
    }


def _verify_default(verify: bool | None) -> bool:
    if verify is None:
        return os.environ.get("LENSBENCH_VERIFY", "") not in ("", "0")
    return verify


def run_generate(cfg: RunConfig, *, generator: Generator | None = None, dry_run: bool = False,
                 verify: bool | None = None) -> dict[str, Any]:
    """Generate every planned image that is not finished yet. Returns a summary dict.

    `verify`: also check finished images against their recorded sha256 (reads every byte; default: the
    LENSBENCH_VERIFY environment variable). Without it, finished images get the quick integrity check.
    Under torchrun each rank generates its shard; rank 0 then waits for the others and merges (lensbench.dist).
    """
    verify = _verify_default(verify)
    ctx = prepare(cfg)
    dist, suite, plan = ctx.dist, ctx.suite, ctx.plan
    store = RunStore(cfg.out, rank=dist.rank, world_size=dist.world_size)
    settings_hash = canonical_hash(ctx.settings)
    summary: dict[str, Any] = {"run_dir": str(store.run_dir), "planned": len(plan), "generated": 0, "skipped": 0}

    if dry_run:
        done = {r["key"]: r for r in store.records(STREAM)} if store.run_dir.exists() else {}
        summary["cached"] = sum(_is_done(store, done.get(w.key), verify) for w in plan)
        summary["batches"] = len(ctx.batches)
        summary["settings"] = ctx.settings
        summary["suite"] = suite.describe()
        summary["world_size"] = dist.world_size
        return summary

    t0 = time.perf_counter()
    try:
        _run_locked(cfg, ctx, store, generator, verify, summary, settings_hash)
    except KeyboardInterrupt:
        keys = {w.key for w in plan}
        kept = len(store.done_keys(STREAM) & keys) if store.run_dir.exists() else 0
        raise Interrupted(f"interrupted; {kept} of {len(plan)} images are finished and kept in {store.run_dir}; "
                          "re-run the same command to make the rest") from None
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return summary


def _run_locked(cfg: RunConfig, ctx: Prepared, store: RunStore, generator: Generator | None, verify: bool,
                summary: dict[str, Any], settings_hash: str) -> None:
    dist, suite, plan = ctx.dist, ctx.suite, ctx.plan
    with store.locked():
        old = _check_manifest(store, cfg, ctx)
        manifest = _manifest(cfg, ctx, settings_hash, old)
        coord = Coordinator(store.run_dir, STREAM, dist) if dist.world_size > 1 else None
        if coord is not None:
            coord.start()
        try:
            fin = Finalizer(store, suite, ctx.batches, dist.world_size)
            _generate_shard(cfg, ctx, store, manifest, generator, verify, summary, fin)
            if dist.is_main:
                if coord is not None:
                    keys = {w.key for w in plan}
                    coord.wait_for_others(lambda: (len(store.done_keys(STREAM) & keys), len(keys)), "images")
                ok = {r["key"]: r for r in store.records(STREAM) if r.get("status") == "ok"}
                summary["finalized_by_merge"] = fin.merge(ok, verify)
        except BaseException as exc:
            if coord is not None:
                coord.finish("failed", error=str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}")
            raise
        if coord is not None:
            coord.finish("done", generated=summary["generated"], skipped=summary["skipped"], device=ctx.device)
        if dist.is_main:
            manifest["finished"] = mf.utc_now()
            manifest["world_size"] = dist.world_size
            if coord is not None:
                manifest["ranks"] = coord.rank_reports()
            oom = summarize_events([e for e in store.records(EVENTS) if e.get("stage") == STREAM])
            if oom:
                manifest["oom_backoff"] = oom
            store.write_manifest(manifest)


def _generate_shard(cfg: RunConfig, ctx: Prepared, store: RunStore, manifest: dict[str, Any],
                    generator: Generator | None, verify: bool, summary: dict[str, Any], fin: Finalizer) -> None:
    dist, suite = ctx.dist, ctx.suite
    records = {r["key"]: r for r in store.records(STREAM)}
    _check_no_overwrite(records, ctx.plan, store.run_dir)
    my_batches = shard(ctx.batches, dist.rank, dist.world_size)
    mine = [w for b in my_batches for w in b]
    done = {w.key for w in mine if _is_done(store, records.get(w.key), verify)}
    todo = [b for b in my_batches if not all(w.key in done for w in b)]
    summary["skipped"] = len(done)

    gen = None
    if todo:  # load before writing anything, so a missing model or package leaves no trace
        apply_threads(cfg.threads)
        gen = generator or make_generator(ctx.spec, LoadOptions(
            model_path=cfg.model_path, device=ctx.device, dtype=ctx.settings["dtype"], offload=cfg.offload,
            trust_remote_code=cfg.trust_remote_code, revision=cfg.revision,
            options=load_model_options(cfg.model_options)))
        gen.load()
        manifest["generator"] = gen.info()
    committer = BatchCommitter(store, STREAM) if gen is not None else None
    if dist.is_main:
        if committer is not None:  # durable before the first record (same queue), written while batch 1 is made
            committer.run(store.write_manifest_text, store.manifest_text(manifest))
        else:
            store.write_manifest(manifest)
    fin.own_complete(done, records, verify)  # complete before this run but maybe never finalized
    if gen is not None:
        def on_event(event: dict[str, Any]) -> None:
            store.append(EVENTS, {**event, "stage": STREAM, "rank": dist.rank, "time": mf.utc_now()})

        backoff = Backoff(f"generating with {ctx.spec.name}", "lower --batch-size or the resolution, use --offload "
                          "model, or run on a GPU with more memory", on_event)
        state = {"records": records, "done": done, "prepared": set(), "finalizer": fin, "committer": committer,
                 "written": 0}
        n_todo = sum(w.key not in done for b in todo for w in b)
        with progress_bar(f"generate {ctx.spec.name} × {suite.name}", n_todo, cfg.progress and dist.is_main) as bar:
            try:
                for batch in todo:
                    _run_batch(store, gen, ctx, batch, state, backoff, bar)
            finally:
                committer.close()  # the batch in flight commits even when unwinding an error or a Ctrl-C
                summary["generated"] = state["written"]
        if backoff.events:
            summary["oom_backoff"] = backoff.summary()


def _run_batch(store: RunStore, gen: Generator, ctx: Prepared, batch: list[WorkItem], state: dict[str, Any],
               backoff: Backoff, bar) -> None:
    """Generate one planned batch (halved on OOM) and hand the images that are not finished yet to the committer
    (which commits them in the background while the next batch is made)."""
    suite, rewriter = ctx.suite, ctx.rewriter
    records, done, prepared = state["records"], state["done"], state["prepared"]
    for w in batch:
        if w.item.id not in prepared:
            suite.prepare_item(store.run_dir, w.item)
            prepared.add(w.item.id)

    def call(chunk: list[WorkItem]):
        if all(w.key in done for w in chunk):
            return None  # a back-off piece holding only finished images
        sent = rewriter.rewrite([w.request.prompt for w in chunk])
        requests = [w.request if s == w.request.prompt else _with_prompt(w.request, s) for w, s in zip(chunk, sent)]
        gen.validate(requests)
        t = time.perf_counter()
        try:
            images = gen.generate(requests)
        except TypeError as exc:  # a -M pass.KEY the pipeline does not take
            bad = [k for k in (requests[0].extra or {}) if k in str(exc)]
            if not bad:
                raise
            raise UserError(f"{ctx.spec.name} does not take the call argument {bad[0]!r} (-M pass.{bad[0]}): "
                            f"{exc}; drop that option") from None
        refined = gen.refined_prompts()  # the model's own rewrite (Lens reasoner), else None
        return sent, images, (time.perf_counter() - t) / len(chunk), refined

    def committed(recs: list[dict[str, Any]]) -> None:  # on this thread, once the batch is durable
        for rec in recs:
            records[rec["key"]] = rec
            done.add(rec["key"])
            state["written"] += 1
            bar.advance()
            state["finalizer"].after_commit(rec["item_id"], done, records)

    for chunk, out in backoff.run(batch, call):
        if out is None:
            continue
        sent, images, latency, refined = out
        if len(images) != len(chunk):
            raise RuntimeError(f"{ctx.spec.name} returned {len(images)} images for {len(chunk)} prompts")
        new: list[tuple[WorkItem, Any, dict[str, Any]]] = []
        for j, (w, img, prompt_sent) in enumerate(zip(chunk, images, sent)):
            if w.key in done:
                continue  # made again only because its batch-mates were missing; keep the committed image
            if img.size != (w.request.width, w.request.height):
                raise RuntimeError(f"{ctx.spec.name} returned {img.size[0]}x{img.size[1]} (WxH) for {w.request.width}x{w.request.height}")
            rec = {"key": w.key, "status": "ok", "suite": suite.name, "item_id": w.item.id, "index": w.index,
                   "prompt": w.request.prompt, "prompt_sent": prompt_sent, "seed": w.seed, "height": w.request.height,
                   "width": w.request.width, "steps": w.request.steps, "guidance": w.request.guidance,
                   "negative_prompt": w.request.negative_prompt, "image": w.image, "sha256": None, "bytes": None,
                   "latency_s": round(latency, 6), "batch_size": len(chunk), "rank": store.rank}
            if refined is not None:
                rec["prompt_refined"] = refined[j]
            if len(chunk) < len(batch):
                rec.update(oom_backoff=True, planned_batch_size=len(batch))
            new.append((w, img, rec))
        # group commit: images durable first (one directory fsync), then the batch's records with one fsync
        state["committer"].submit([(w.image, img) for w, img, _ in new], [rec for _, _, rec in new], committed)


def apply_threads(threads: int) -> None:
    """Fix torch's CPU thread count (intra-op) in this process: CPU kernels reduce in a thread-count dependent
    order, so a plain run, every torchrun rank and a resume must use the same count to give the same bytes."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _with_prompt(req, prompt: str):
    from dataclasses import replace

    return replace(req, prompt=prompt)


def run_dir_exists(path: str | Path) -> bool:
    return (Path(path) / "manifest.json").exists()
