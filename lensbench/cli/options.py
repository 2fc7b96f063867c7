"""Typer options that several commands declare alike, defined once (flag, short flag and help text).

Use as the parameter's type: ``dtype: Dtype = None``. Options whose help differs between commands (because the
option means something slightly different there) stay declared in their command.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

# model loading (generate, speed)
Dtype = Annotated[Optional[str], typer.Option(
    "--dtype", help="float32 | float16 | bfloat16 (default: bf16 on GPU, fp32 on CPU).")]
Offload = Annotated[Optional[str], typer.Option("--offload", help="none | model | sequential CPU offload. [default: none]")]
Device = Annotated[Optional[str], typer.Option("--device", help="auto | cpu | cuda | cuda:N. [default: auto]")]
NegativePrompt = Annotated[Optional[str], typer.Option("--negative-prompt", help="Negative prompt (default: recommended).")]
RewriterOptions = Annotated[Optional[list[str]], typer.Option("--rewriter-option", help="Rewriter option KEY=VALUE.")]

# planning (generate --dry-run, ablate --dry-run)
SpeedRun = Annotated[Optional[Path], typer.Option(
    "--speed-run", help="With --dry-run: base the time estimate on this `lensbench speed` run (default: published latencies).")]

# offline preparation (fetch, doctor)
SuiteOptions = Annotated[Optional[list[str]], typer.Option("--suite-option", "-S", help="Suite option KEY=VALUE.")]
