"""`lensbench verify --fix`: remake every damaged image of a run with the settings its manifest recorded.

A damaged image (missing, torn, or bytes that differ from its record's sha256, e.g. swapped by hand) is made
again by the generate runner with `verify=True`: same work items, same keys, same paths, so the new record
supersedes the old one. Nothing outside the run directory is ever touched: a record that names a path
outside it is reported and left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.store.integrity import OUTSIDE, ScanReport, scan_run
from lensbench.store.run_store import RunStore


def recorded_config(run_dir: Path, *, trust_remote_code: bool = False) -> RunConfig:
    """The RunConfig a run was made with (from its manifest), writing into `run_dir` itself."""
    manifest = RunStore(run_dir).read_manifest()
    if not manifest or not isinstance(manifest.get("config"), dict):
        raise UserError(f"{run_dir}/manifest.json records no run configuration; re-run the original "
                        "`lensbench generate` command with LENSBENCH_VERIFY=1 instead")
    data = dict(manifest["config"])
    data.update(out=str(run_dir), progress=False, trust_remote_code=trust_remote_code)
    return RunConfig.from_dict(data, where=f"{run_dir}/manifest.json config")


def scan(run_dir: str | Path) -> tuple[RunStore, ScanReport]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist; check the path")
    store = RunStore(run_dir)
    records = store.records("generate")
    if not records:
        raise UserError(f"{run_dir} has no generation records (records/generate.r*.jsonl); pass a run made by "
                        "`lensbench generate`")
    return store, scan_run(run_dir, records, verify=True)


def repair(run_dir: str | Path, *, trust_remote_code: bool = False, generator: Any = None) -> dict[str, Any]:
    """Remove temp files and remake damaged images (loading the model only when there is one to remake)."""
    from lensbench.runners.generate import run_generate

    store, report = scan(run_dir)
    fixable = [rel for rel, problem in report.damaged if problem != OUTSIDE]
    with store.locked():  # also removes temp files a killed writer left behind
        pass
    summary: dict[str, Any] = {"damaged": len(report.damaged), "regenerated": 0,
                               "left_alone": [rel for rel, p in report.damaged if rel not in fixable]}
    if fixable:
        cfg = recorded_config(store.run_dir, trust_remote_code=trust_remote_code)
        out = run_generate(cfg, generator=generator, verify=True)
        summary["regenerated"] = out["generated"]
    summary["after"] = scan(store.run_dir)[1].to_dict()
    return summary
