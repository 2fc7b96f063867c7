"""`lensbench fid`: FID/KID between two runs, or a run and a reference folder (lensbench.metrics.fid)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lensbench.cli.common import echo_json

HELP = """FID and KID (torchmetrics) of the images of RUN_A against REFERENCE (a run or any folder of images).

\b
Examples:
  lensbench fid runs/lens-turbo-geneval runs/zimage-geneval
  lensbench fid runs/lens-turbo-geneval /data/coco-val2014-30k --json
  lensbench fid runs/a runs/b --features tiny          # plumbing check with a tiny random extractor
  lensbench fid --fetch-weights                       # on a networked machine: cache the InceptionV3 weights
"""


def register(app: typer.Typer) -> None:
    @app.command("fid", help=HELP)
    def fid(
        run_a: Optional[Path] = typer.Argument(None, help="Run directory (or image folder) to evaluate."),
        reference: Optional[Path] = typer.Argument(None, help="Reference run directory or image folder."),
        features: str = typer.Option("inception", "--features", help="inception (FID's InceptionV3) or tiny."),
        kid: bool = typer.Option(True, "--kid/--no-kid", help="Also compute KID."),
        kid_subset_size: int = typer.Option(1000, "--kid-subset-size", help="KID subset size (capped at the set sizes)."),
        batch_size: int = typer.Option(32, "--batch-size", "-b", help="Images per feature batch."),
        device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
        limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N images of each set."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write the result JSON to this file."),
        as_json: bool = typer.Option(False, "--json", help="Print the result JSON."),
        fetch_weights: bool = typer.Option(False, "--fetch-weights", help="Download the InceptionV3 weights and exit."),
    ) -> None:
        from lensbench.errors import UserError
        from lensbench.metrics.fid import FidOptions, compute_fid, fetch_inception_weights, format_result, write_result
        from lensbench.options import parse_options

        if fetch_weights:
            typer.echo(f"InceptionV3 weights: {fetch_inception_weights()}")
            return
        if run_a is None or reference is None:
            raise UserError("lensbench fid needs two arguments: RUN_A and REFERENCE (a run or an image folder)")
        opts = parse_options(FidOptions, {"features": features, "kid": kid, "kid_subset_size": kid_subset_size,
                                          "batch_size": batch_size, "device": device, "limit": limit}, owner="fid")
        res = compute_fid(run_a, reference, opts)
        if out is not None:
            write_result(res, out)
        if as_json:
            echo_json(res)
        else:
            typer.echo(format_result(res))
