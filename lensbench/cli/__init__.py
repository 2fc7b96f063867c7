"""The `lensbench` command line: a thin Typer layer over the Python API.

Each command group lives in its own module with a ``register(app)`` function listed in COMMAND_MODULES.
Modules must not import torch, diffusers, transformers or open_clip at import time (``--help`` and
``lensbench models`` stay fast); import them inside the command function.
"""

from __future__ import annotations

import importlib
import sys

import typer

from lensbench.errors import UserError

app = typer.Typer(
    name="lensbench",
    help="Benchmark and ablation harness for text-to-image models (Lens, Z-Image, Qwen-Image, HunyuanImage-3.0, ...).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: one module per command group; each has register(app)
COMMAND_MODULES = (
    "lensbench.cli.models",
    "lensbench.cli.suites",
    "lensbench.cli.generate",
    "lensbench.cli.demo",
    "lensbench.cli.geneval",
    "lensbench.cli.dpg",
    "lensbench.cli.report",
    "lensbench.cli.export",
    "lensbench.cli.speed",
    "lensbench.cli.ablate",
    "lensbench.cli.ops",
    "lensbench.cli.fid",
    "lensbench.cli.selftest",
)

#: no connectivity probe before these: they never touch the Hugging Face hub, or (fetch) they are the networked
#: step and must report their own network errors instead of being switched offline
NO_PROBE_COMMANDS = frozenset({"models", "suites", "report", "export", "fid", "verify", "fetch", "check", "selftest"})


def _version(value: bool) -> None:
    if value:
        import lensbench

        typer.echo(f"lensbench {lensbench.__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Errors only: no progress bars, no warnings."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                help="Show library warnings (-v) and their info lines (-vv)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars in any command."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Benchmark and ablation harness for text-to-image models (Lens, Z-Image, Qwen-Image, HunyuanImage-3.0, ...)."""
    from lensbench.util import terminal

    terminal.configure(-1 if quiet else verbose, progress=not no_progress)
    if ctx.invoked_subcommand not in NO_PROBE_COMMANDS:
        terminal.hub_fail_fast()


for _mod in COMMAND_MODULES:
    importlib.import_module(_mod).register(app)


def _click_exceptions():
    """Typer >= 0.2x vendors click as typer._click; older versions use click itself."""
    try:
        from typer._click import exceptions as exc
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import exceptions as exc
    import typer

    abort = getattr(typer, "Abort", None) or getattr(exc, "Abort")
    return exc.UsageError, exc.NoArgsIsHelpError, exc.ClickException, abort


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback.

    Click's own usage errors (``--height abc``, a missing argument) get the same one line instead of a box;
    Ctrl-C outside a runner that reports its own progress says that finished work is kept, exit 130."""
    usage_error, no_args_error, click_error, abort = _click_exceptions()
    try:
        code = app(args=argv, prog_name="lensbench", standalone_mode=False)
    except UserError as exc:
        from lensbench.redact import scrub

        print(f"error: {scrub(exc)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except no_args_error as exc:
        print(exc.ctx.get_help() if exc.ctx is not None else exc.format_message(), file=sys.stderr)
        sys.exit(2)
    except usage_error as exc:
        cmd = exc.ctx.command_path if exc.ctx is not None else "lensbench"
        msg = " ".join(exc.format_message().split()).rstrip(".")
        print(f"error: {msg}; see `{cmd} --help`", file=sys.stderr)
        sys.exit(2)
    except click_error as exc:
        print(f"error: {' '.join(exc.format_message().split())}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (abort, KeyboardInterrupt):
        code = 130
    if code == 130:  # typer turns Ctrl-C into Exit(130)
        print("error: interrupted; finished work is kept (every write is atomic); re-run the same command to "
              "continue", file=sys.stderr)
    if isinstance(code, int) and code:
        sys.exit(code)
