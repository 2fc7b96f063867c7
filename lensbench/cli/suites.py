"""`lensbench suites`: the registered suites and whether their data is present here (nothing is downloaded)."""

from __future__ import annotations

import typer

from lensbench.cli.common import echo_json

EPILOG = """Examples:

  lensbench suites

  lensbench suites --json
"""


def register(app: typer.Typer) -> None:
    @app.command("suites", epilog=EPILOG)
    def suites(as_json: bool = typer.Option(False, "--json", help="Print the status as JSON.")) -> None:
        """List the suites, whether their data is present (and how to get it when not), prompts, default scorer."""
        from lensbench.suites.status import all_suite_status
        from lensbench.util.table import align

        rows = all_suite_status()
        if as_json:
            echo_json([r.to_dict() for r in rows])
            return
        table = [("suite", "data", "prompts", "scorer", "source / what to do")]
        table += [(r.name, "present" if r.present else "missing", "" if r.prompts is None else str(r.prompts),
                   r.default_scorer or "", r.note) for r in rows]
        for line in align(table, numeric={2}):
            typer.echo(line)
