"""`lensbench generate` and `lensbench score`: thin wrappers over runners.generate / runners.score."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lensbench.cli.common import echo_json, parse_kv
from lensbench.cli.options import Device, Dtype, NegativePrompt, Offload, RewriterOptions, SpeedRun
from lensbench.cli.output import is_main_rank, say, score_lines, should_print

EPILOG = """Examples:

  lensbench generate --model tiny --suite demo --out runs/demo --height 64 --width 64

  lensbench generate --model lens-turbo --suite geneval -S metadata=evaluation_metadata.jsonl --out runs/lt-geneval

  lensbench generate --model qwen-image --suite prompts.jsonl --resolution 16:9 --batch-size 4 --out runs/q
"""


SCORE_EPILOG = """Examples:

  lensbench score runs/lt-geneval

  lensbench score runs/lt-geneval --scorer clipscore

  lensbench score runs/tiny-demo --scorer clipscore -O model=tiny
"""


def build_config(config: Optional[Path], **flags):
    """Flags that were given override the config file (the one config object for CLI and API)."""
    from lensbench.config import RunConfig

    given = {k: v for k, v in flags.items() if v is not None}
    if config is not None:
        return RunConfig.from_file(config, **given)
    return RunConfig(**given)


def register(app: typer.Typer) -> None:
    @app.command("generate", epilog=EPILOG)
    def generate(
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Registry name (see `lensbench models`)."),
        suite: Optional[str] = typer.Option(None, "--suite", "-s", help="Suite name or a .jsonl file of {id, prompt, ...}."),
        out: Optional[str] = typer.Option(None, "--out", "-o", help="Run directory (created; resumed if it exists). [default: runs/<model>-<suite>]"),
        suite_option: Optional[list[str]] = typer.Option(None, "--suite-option", "-S", help="Suite option KEY=VALUE (e.g. metadata=PATH, language=zh)."),
        images_per_prompt: Optional[int] = typer.Option(None, "--images-per-prompt", "-n", help="Images per prompt (default: the suite's)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Base seed; image i of each prompt uses seed+i. [default: 42]"),
        height: Optional[int] = typer.Option(None, "--height", help="Image height (default: the model's)."),
        width: Optional[int] = typer.Option(None, "--width", help="Image width (default: the model's)."),
        size: Optional[str] = typer.Option(None, "--size", help="Image size WIDTHxHEIGHT, e.g. 1024x768 (1024 wide); instead of --width/--height."),
        resolution: Optional[str] = typer.Option(None, "--resolution", "-r", help="A preset/bucket name of the model, e.g. 1:1, 16:9, 1440/1:1."),
        steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps (default: the model's recommendation)."),
        guidance: Optional[float] = typer.Option(None, "--guidance", help="Guidance / true-CFG scale (default: recommended)."),
        negative_prompt: NegativePrompt = None,
        dtype: Dtype = None,
        batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Images per pipeline call. [default: 1]"),
        threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch in every process (recorded; fixed so CPU images are byte-identical under torchrun and resumes). [default: 1]"),
        limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N prompts."),
        model_path: Optional[str] = typer.Option(None, "--model-path", help="Local directory or mirror repo id instead of the registry's repo."),
        revision: Optional[str] = typer.Option(None, "--revision", help="Hub revision (branch, tag or commit)."),
        device: Device = None,
        offload: Offload = None,
        trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Allow code shipped with weights (HunyuanImage-3.0)."),
        model_option: Optional[list[str]] = typer.Option(None, "--model-option", "-M", help="Adapter option KEY=VALUE (e.g. enable_reasoner=true; `lensbench models` lists them); pass.KEY=VALUE sends any other call argument (recorded)."),
        rewriter: Optional[str] = typer.Option(None, "--rewriter", help="Prompt rewriter name. [default: none]"),
        rewriter_option: RewriterOptions = None,
        config: Optional[Path] = typer.Option(None, "--config", help="TOML/JSON RunConfig file; flags override it."),
        geneval_metadata: Optional[str] = typer.Option(None, "--geneval-metadata", help="GenEval evaluation_metadata.jsonl (same as -S metadata=PATH)."),
        language: Optional[str] = typer.Option(None, "--language", help="Prompt language for suites that render it (geneval: en, zh, fr, ja, es); same as -S language=..."),
        verify: bool = typer.Option(False, "--verify", help="Check every finished image against its recorded sha256 before skipping it."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (how much is done, estimated GPU time) and exit."),
        speed_run: SpeedRun = None,
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    ) -> None:
        """Generate a suite's images into a resumable run directory."""
        from lensbench.runners.generate import run_generate

        if size is not None:
            from lensbench.errors import UserError
            from lensbench.util.sizes import parse_size

            if height is not None or width is not None:
                raise UserError("give either --size WxH or --height/--width, not both")
            height, width = parse_size(size, "--size")
        cfg = build_config(
            config, model=model, suite=suite, out=out, images_per_prompt=images_per_prompt, seed=seed, height=height,
            width=width, resolution=resolution, steps=steps, guidance=guidance, negative_prompt=negative_prompt,
            dtype=dtype, batch_size=batch_size, threads=threads, limit=limit, model_path=model_path, revision=revision, device=device,
            offload=offload, rewriter=rewriter,
            suite_options={**parse_kv(suite_option, "--suite-option"), **({"language": language} if language else {}),
                           **({"metadata": geneval_metadata} if geneval_metadata else {})} or None,
            model_options=parse_kv(model_option, "--model-option") or None,
            rewriter_options=parse_kv(rewriter_option, "--rewriter-option") or None,
            trust_remote_code=trust_remote_code or None, progress=False if no_progress else None,
        )
        if out is None and cfg.out == type(cfg).out:  # no --out and none in --config: runs/<model>-<suite>
            from dataclasses import replace

            from lensbench.cli.common import default_run_dir

            cfg = replace(cfg, out=default_run_dir(cfg))
        summary = run_generate(cfg, dry_run=dry_run, verify=True if verify else None)
        if dry_run:
            from lensbench.speed.estimate import estimate_seconds

            st = summary["settings"]
            summary["gpu_time_estimate"] = estimate_seconds(
                cfg.model, height=st["height"], width=st["width"], steps=st["steps"], batch_size=cfg.batch_size,
                images=summary["planned"] - summary.get("cached", 0), speed_run=speed_run)
            if is_main_rank():
                echo_json(summary)
            return
        say(f"{summary['generated']} generated, {summary['skipped']} already done, "
            f"{summary['planned']} planned in {summary['seconds']:.1f}s -> {summary['run_dir']}")

    @app.command("score", epilog=SCORE_EPILOG)
    def score(
        run: Path = typer.Argument(..., help="Run directory (or a folder in a suite's official layout)."),
        suite: Optional[str] = typer.Option(None, "--suite", "-s", help="Score with this suite's scorer (e.g. geneval, dpg, text)."),
        scorer: Optional[str] = typer.Option(None, "--scorer", help="Scorer name (overrides --suite)."),
        option: Optional[list[str]] = typer.Option(None, "--option", "-O", help="Scorer option KEY=VALUE (backend, device, constants)."),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Units per scorer call."),
        limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N units."),
        as_json: bool = typer.Option(False, "--json", help="Print the results JSON."),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
        trust_remote_code: bool = typer.Option(False, "--trust-remote-code",
                                               help="Allow code shipped with a scorer backend's weights (OneIG LLM2CLIP)."),
    ) -> None:
        """Score a run (resumable); writes records/score.<scorer>.*.jsonl and results/<scorer>.json."""
        from lensbench.runners.score import default_scorer_for, run_score

        name = scorer or default_scorer_for(run, suite)
        out = run_score(run, name, parse_kv(option, "--option"), batch_size=batch_size, limit=limit, progress=not no_progress,
                        trust_remote_code=trust_remote_code)
        if as_json:
            if is_main_rank():
                echo_json(out["results"])
            return
        if should_print():
            from lensbench.scorers import scorer_class

            cls = scorer_class(out["scorer"])
            for line in score_lines(out, getattr(cls, "metrics_meta", None)):
                typer.echo(line)
