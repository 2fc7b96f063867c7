"""`lensbench fetch`, `lensbench doctor` and `lensbench verify`: offline GPU nodes and run-directory health.
Thin wrappers over lensbench.offline and lensbench.store.integrity (no heavy imports at module level)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Optional

import typer

from lensbench.cli.common import echo_json, parse_kv
from lensbench.cli.options import SuiteOptions

FETCH_EPILOG = """Examples (on a machine with a network; then copy ~/.cache/huggingface and ~/.cache/lensbench, or share them):

  lensbench fetch lens-turbo geneval dpg          # weights, GenEval/DPG-Bench data and their scorers' models

  lensbench fetch hunyuan-image-3 --to /models/HunyuanImage-3

  lensbench fetch lens --repo Jinstudio/Lens      # a mirror (the original repo is reported removed)
"""

DOCTOR_EPILOG = """Examples:

  lensbench doctor --offline --model lens-turbo --suite geneval --scorer geneval

  lensbench doctor --offline --config run.toml    # the model, weights, suite (and its scorer) of a planned run
"""

MARK = {"ok": "ok", "missing": "MISSING", "warn": "warn", "info": "note"}


def register(app: typer.Typer) -> None:
    @app.command("fetch", epilog=FETCH_EPILOG)
    def fetch(
        names: list[str] = typer.Argument(..., help="Models, suites or scorers to prefetch."),
        to: Optional[str] = typer.Option(None, "--to", help="Download one model into this plain directory (not the HF cache)."),
        repo: Optional[str] = typer.Option(None, "--repo", help="Download one model from this repo id (a mirror)."),
        revision: Optional[str] = typer.Option(None, "--revision", help="Hub revision (branch, tag or commit)."),
        suite_option: SuiteOptions = None,
        option: Optional[list[str]] = typer.Option(None, "--option", "-O", help="Scorer option KEY=VALUE (e.g. backend)."),
        as_json: bool = typer.Option(False, "--json", help="Print what was fetched as JSON."),
    ) -> None:
        """Prefetch weights and data into the local caches for GPU nodes without internet."""
        from lensbench.offline.fetch import fetch as run_fetch

        out = run_fetch(list(names), to=to, revision=revision, repo=repo,
                        suite_options=parse_kv(suite_option, "--suite-option"), scorer_options=parse_kv(option, "--option"))
        if as_json:
            echo_json(out)
            return
        for got in out:
            where = got.get("path") or got.get("source") or got.get("note") or ""
            extra = f"  (use: {got['use']})" if got.get("use") else ""
            typer.echo(f"{got['kind']:6} {got['name']}: {where}{extra}")

    @app.command("doctor", epilog=DOCTOR_EPILOG)
    def doctor(
        offline: bool = typer.Option(False, "--offline", help="Check as a node without internet sees it."),
        model: Optional[list[str]] = typer.Option(None, "--model", "-m", help="A model of the planned run (repeatable)."),
        suite: Optional[list[str]] = typer.Option(None, "--suite", "-s", help="A suite of the planned run (repeatable)."),
        scorer: Optional[list[str]] = typer.Option(None, "--scorer", help="A scorer of the planned run (repeatable)."),
        model_path: Optional[str] = typer.Option(None, "--model-path", help="Local weights directory or mirror repo id."),
        revision: Optional[str] = typer.Option(None, "--revision", help="Hub revision of the weights."),
        config: Optional[Path] = typer.Option(None, "--config", help="A RunConfig file (TOML/JSON) of the planned run."),
        suite_option: SuiteOptions = None,
        option: Optional[list[str]] = typer.Option(None, "--option", "-O", help="Scorer option KEY=VALUE."),
        no_load: bool = typer.Option(False, "--no-load", help="Do not load scorer models (faster, less certain)."),
        as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
    ) -> None:
        """Check GPU, versions, weights, data and scorer models for a planned run; exit 1 if anything is missing."""
        if offline:
            from lensbench.offline.doctor import go_offline

            go_offline()  # before any Hugging Face library is imported
        from lensbench.offline.doctor import doctor as run_doctor

        models, suites, scorers = list(model or []), list(suite or []), list(scorer or [])
        suite_options = parse_kv(suite_option, "--suite-option")
        if config is not None:
            from lensbench.config import RunConfig

            cfg = RunConfig.from_file(config)
            models.append(cfg.model)
            suites.append(cfg.suite)
            suite_options = {**cfg.suite_options, **suite_options}
            model_path = model_path or cfg.model_path
            revision = revision or cfg.revision
            if not scorers:
                from lensbench.scorers import SCORERS

                scorers += [cfg.suite] if cfg.suite in SCORERS else []
        checks = run_doctor(models=models, suites=suites, scorers=scorers, offline=offline, model_path=model_path,
                            revision=revision, suite_options=suite_options, scorer_options=parse_kv(option, "--option"),
                            load_scorers=not no_load)
        missing = [c for c in checks if c.status == "missing"]
        if as_json:
            echo_json({"ready": not missing, "checks": [c.to_dict() for c in checks]})
        else:
            for c in checks:
                fix = f"\n{'':9}-> {c.fix}" if c.fix and c.status != "ok" else ""
                typer.echo(f"{MARK[c.status]:8} {c.what}: {c.detail}{fix}")
            typer.echo(f"\n{len(missing)} thing(s) missing; see the -> lines" if missing else "\nready")
        if missing:
            raise typer.Exit(1)

    @app.command("verify")
    def verify(
        run: Path = typer.Argument(..., help="Run directory."),
        fix: bool = typer.Option(False, "--fix", help="Remake damaged images with the run's recorded settings (loads the model)."),
        trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Allow code shipped with weights while remaking (--fix)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Check every generated image against its record (size, PNG structure, sha256); exit 1 on damage."""
        from lensbench.runners.repair import repair, scan

        store, report = scan(run)
        fixed = None
        if fix and not report.ok:
            fixed = repair(run, trust_remote_code=trust_remote_code)
        if as_json:
            echo_json({**report.to_dict(), **({"fix": fixed} if fixed is not None else {})})
        else:
            typer.echo(f"{report.checked} images checked: {len(report.damaged)} damaged, {len(report.orphans)} without a "
                       f"record, {len(report.temp_files)} temp files")
            for rel, problem in report.damaged[:20]:
                typer.echo(f"  damaged  {rel}: {problem}")
            for rel in report.orphans[:20]:
                typer.echo(f"  orphan   {rel} (no record commits it; `generate` overwrites it if it is planned)")
            if fixed is not None:
                after = fixed["after"]
                typer.echo(f"fixed: {fixed['regenerated']} image(s) made again; now {len(after['damaged'])} damaged, "
                           f"{len(after['temp_files'])} temp files")
                for rel in fixed["left_alone"]:
                    typer.echo(f"  left alone {rel}: its record points outside the run directory; remove that record")
            elif not report.ok:
                typer.echo(f"re-run with --fix to remake them: lensbench verify {shlex.quote(str(run))} --fix")
        if not (fixed["after"]["ok"] if fixed is not None else report.ok):
            raise typer.Exit(1)
