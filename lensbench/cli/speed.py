"""`lensbench speed`: latency, throughput and memory per size × steps × batch, split by stage.

A thin wrapper over `lensbench.speed.run.run_speed` (the Python API takes the same SpeedConfig; ``--config``
reads a TOML/JSON file of its fields, flags that are given override it, as in ``generate``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer

from lensbench.cli.common import echo_json, parse_kv
from lensbench.cli.options import Device, Dtype, NegativePrompt, Offload, RewriterOptions
from lensbench.cli.output import should_print

EPILOG = """Examples:

  lensbench speed --model tiny --resolutions 64x64,128x64 --steps 2,4 --batch-sizes 1,2 --min-duration 0

  lensbench speed --model lens-turbo --resolutions 1024x1024 --steps 4 --device cuda   # vs the paper's 0.84 s (H100)

  lensbench speed --model lens --preset aspect-sweep --steps 20 --batch-sizes 1,4 --compile --out runs/lens-speed

  lensbench speed --config speed.toml --steps 4     # fields of SpeedConfig in a file; flags override it

Sizes are WIDTHxHEIGHT; aspect ratios W:H. Latency is per pipeline call (batch images), warm calls only.
"""


def register(app: typer.Typer) -> None:
    @app.command("speed", epilog=EPILOG)
    def speed(
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Registry name (see `lensbench models`). [default: tiny]"),
        resolutions: Optional[str] = typer.Option(None, "--resolutions", "-r", help="Comma-separated WIDTHxHEIGHT sizes or preset names of the model (e.g. 1024x1024,1:1)."),
        preset: Optional[str] = typer.Option(None, "--preset", "-p", help="megapixel-ladder | aspect-sweep | buckets."),
        base_side: Optional[int] = typer.Option(None, "--base-side", help="Side of the 1× square of the presets. [default: 1024; tiny models: their default]"),
        snap: bool = typer.Option(False, "--snap", help="Replace invalid --resolutions by the nearest valid size instead of failing."),
        steps: Optional[str] = typer.Option(None, "--steps", help="Comma-separated step counts (default: the model's)."),
        batch_sizes: Optional[str] = typer.Option(None, "--batch-sizes", "-b", help="Comma-separated batch sizes (images per call). [default: 1]"),
        warmup: Optional[int] = typer.Option(None, "--warmup", help="Unrecorded calls after the cold first call, per configuration. [default: 3]"),
        repeats: Optional[int] = typer.Option(None, "--repeats", help="Measure at least this many calls ... [default: 10]"),
        min_duration: Optional[float] = typer.Option(None, "--min-duration", help="... and for at least this many seconds. [default: 10]"),
        max_calls: Optional[int] = typer.Option(None, "--max-calls", help="Cap on measured calls per configuration."),
        compile: bool = typer.Option(False, "--compile", help="torch.compile the denoiser; compile time lands in cold_s."),
        compile_mode: Optional[str] = typer.Option(None, "--compile-mode", help="torch.compile mode, e.g. max-autotune."),
        compile_backend: Optional[str] = typer.Option(None, "--compile-backend", help="torch.compile backend. [default: inductor]"),
        dtype: Dtype = None,
        offload: Offload = None,
        device: Device = None,
        threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads during the run (1 gives steadier CPU timings on a busy machine)."),
        out: Optional[str] = typer.Option(None, "--out", "-o", help="New run directory. [default: runs/speed-<model>-<time>]"),
        prompt: Optional[str] = typer.Option(None, "--prompt", help="The prompt of every call (a fixed default otherwise)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Image i of a batch uses seed+i. [default: 42]"),
        guidance: Optional[float] = typer.Option(None, "--guidance", help="Guidance scale (default: recommended)."),
        negative_prompt: NegativePrompt = None,
        model_path: Optional[str] = typer.Option(None, "--model-path", help="Local directory or mirror repo id."),
        revision: Optional[str] = typer.Option(None, "--revision", help="Hub revision."),
        trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Allow code shipped with weights."),
        model_option: Optional[list[str]] = typer.Option(None, "--model-option", "-M", help="Adapter option KEY=VALUE."),
        rewriter: Optional[str] = typer.Option(None, "--rewriter", help="Prompt rewriter (timed as its own stage). [default: none]"),
        rewriter_option: RewriterOptions = None,
        config: Optional[Path] = typer.Option(None, "--config", help="TOML/JSON file of SpeedConfig fields; flags override it."),
        as_json: bool = typer.Option(False, "--json", help="Print the rows and the published comparison as JSON."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-configuration progress lines."),
    ) -> None:
        """Measure latency, throughput and memory across sizes, steps and batch sizes, split by stage."""
        from lensbench.speed.output import format_published, format_table
        from lensbench.speed.run import SpeedConfig, run_speed

        flags = dict(
            model=model, resolutions=resolutions.split(",") if resolutions else None, preset=preset,
            base_side=base_side, snap=snap or None, steps=steps, batch_sizes=batch_sizes, warmup=warmup, repeats=repeats,
            min_duration_s=min_duration, max_calls=max_calls, compile=compile or None, compile_mode=compile_mode,
            compile_backend=compile_backend, dtype=dtype, offload=offload, device=device, threads=threads, out=out,
            prompt=prompt, seed=seed, guidance=guidance, negative_prompt=negative_prompt, model_path=model_path,
            revision=revision, trust_remote_code=trust_remote_code or None,
            model_options=parse_kv(model_option, "--model-option") or None, rewriter=rewriter,
            rewriter_options=parse_kv(rewriter_option, "--rewriter-option") or None,
        )
        given = {k: v for k, v in flags.items() if v is not None}
        cfg = SpeedConfig.from_file(config, **given) if config is not None else SpeedConfig(**given)
        if out is None and (config is None or cfg.out == SpeedConfig.out):
            cfg.out = f"runs/speed-{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}"
        echo = None if (quiet or as_json or not should_print()) else (lambda msg: typer.echo(msg, err=True))
        summary = run_speed(cfg, echo=echo)
        rows = summary["rows"]
        if as_json:
            echo_json({"run_dir": summary["run_dir"], "rows": rows, "published": summary["published"]})
        elif should_print():
            typer.echo(f"{cfg.model} on {rows[0]['device'] if rows else cfg.device} ({rows[0]['dtype'] if rows else ''}); "
                       "latency per call in seconds, warm calls; stages are per-call means")
            typer.echo(format_table(rows, compiled=cfg.compile))
            pub = format_published(summary["published"])
            if pub:
                typer.echo(pub)
            typer.echo(f"-> {summary['csv']}")
        if any(r["status"] == "error" for r in rows):
            typer.echo("some configurations failed (status error); see speed/measurements.jsonl", err=True)
            sys.exit(1)
