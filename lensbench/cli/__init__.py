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
    "lensbench.cli.generate",
    "lensbench.cli.demo",
    "lensbench.cli.geneval",
    "lensbench.cli.dpg",
    "lensbench.cli.report",
    "lensbench.cli.speed",
    "lensbench.cli.ablate",
    "lensbench.cli.ops",
)

for _mod in COMMAND_MODULES:
    importlib.import_module(_mod).register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app(args=argv, prog_name="lensbench", standalone_mode=True)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
