"""`lensbench selftest`: prove this machine end to end (tiny models, no download) before long benchmarks.
A thin wrapper over `lensbench.selftest.run_selftest`; exit code 0 only if every applicable check passed."""

from __future__ import annotations

from typing import Optional

import typer

EPILOG = """Examples:

  lensbench selftest --device cuda          # a new GPU node: every check, a few minutes

  lensbench selftest --device cpu --out runs/selftest-cpu

  lensbench selftest --device cuda:1 --only speed --only oom --json

Check groups (--only): images, score, speed, oom, offload, torchrun, report. selftest.json: docs/selftest.md.
"""


def register(app: typer.Typer) -> None:
    @app.command("selftest", epilog=EPILOG)
    def selftest(
        device: str = typer.Option("auto", "--device", help="cuda | cuda:N | cpu (auto: cuda when available)."),
        out: Optional[str] = typer.Option(None, "--out", "-o", help="New directory for selftest.json and the runs (default: runs/selftest-DEVICE-TIME)."),
        as_json: bool = typer.Option(False, "--json", help="Print selftest.json instead of the table."),
        only: Optional[list[str]] = typer.Option(None, "--only", help="Run only this check group (repeatable)."),
        oom_batch: int = typer.Option(16, "--oom-batch", help="Batch made to exceed the capped GPU memory (CUDA)."),
    ) -> None:
        """Run the tiny models through generate → score → speed → report and check this device (pass/fail/skip)."""
        from lensbench.selftest import CheckResult, SelftestSettings, run_selftest
        from lensbench.selftest.summary import dumps, print_summary

        settings = SelftestSettings(device=device, out=out, only=tuple(only or ()), oom_batch=oom_batch)

        def progress(r) -> None:  # one short line per finished check, on stderr (the summary follows on stdout)
            typer.echo(f"  {r.status:4} {r.name} ({r.seconds:.1f} s)", err=True)

        def start(dev: str, where) -> None:
            typer.echo(f"lensbench selftest on {dev} into {where}: tiny random-weight models, no download ...", err=True)

        from lensbench.util import terminal

        quiet = as_json or not terminal.progress_enabled()  # --json, or the global -q / --no-progress
        doc = run_selftest(settings, on_result=None if quiet else progress, on_start=None if quiet else start)
        results = [CheckResult(**c) for c in doc["checks"]]
        if as_json:
            typer.echo(dumps(doc))
        else:
            print_summary(doc, results, echo=typer.echo)
        raise typer.Exit(doc["exit_code"])
