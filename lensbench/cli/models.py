"""`lensbench models`: the model registry as a table (imports no torch/diffusers/transformers)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models(
        as_json: bool = typer.Option(False, "--json", help="Print the full registry entries as JSON."),
    ) -> None:
        """List the models lensbench knows: repo id, recommended settings, constraints, size, licence."""
        from lensbench.cli.common import echo_json
        from lensbench.generators.catalog import MODELS
        from lensbench.registry import resolve_target
        from lensbench.util.sizes import SIZE_HEADER, format_size

        specs = [MODELS.get(n) for n in MODELS.names()]
        # the -M keys `generate` accepts (the adapter's plus the registry entry's); adapter modules import no torch
        options = {s.name: resolve_target(s.adapter).option_names(s) for s in specs}
        if as_json:
            echo_json([{**s.to_dict(), "model_options": options[s.name]} for s in specs])
            return
        from rich.console import Console
        from rich.table import Table

        t = Table(title="lensbench models", show_lines=False)
        native_header = "native " + SIZE_HEADER.split(" ", 1)[-1] if " " in SIZE_HEADER else "native"
        for col in ("name", "repo id", "steps", "guidance", "negative", SIZE_HEADER, native_header, "constraints",
                    "params", "licence", "needs"):
            t.add_column(col, overflow="fold", no_wrap=col in ("name", "repo id", SIZE_HEADER, native_header))
        for s in specs:
            d, c, r = s.defaults, s.constraints, s.requires
            needs = [f"diffusers>={r.min_diffusers}"] if r.min_diffusers else []
            needs += [f"transformers>={r.min_transformers}"] if r.min_transformers else []
            needs += [f"pkg:{p}" for p in r.packages]
            needs += ["--trust-remote-code"] if r.trust_remote_code else []
            needs += [f"~{r.gpu_memory_gb:g} GB GPU" + (f" x{r.min_gpus}" if r.min_gpus > 1 else "")] if r.gpu_memory_gb else []
            t.add_row(
                s.name, s.repo_id or "(built locally)", str(d.steps), f"{d.guidance:g} ({d.guidance_kind})",
                repr(d.negative_prompt) if d.negative_prompt is not None else "-", format_size(d.height, d.width),
                format_size(*s.native) + (" + presets" if s.native_presets else ""),
                f"x{c.multiple}, <= {c.max_pixels / 1e6:.1f} MP, AR {c.min_aspect:g}-{c.max_aspect:g}"
                + (f", presets: {', '.join(s.presets)}" if 0 < len(s.presets) <= 8 else
                   f", {len(s.presets)} presets (--json)" if s.presets else ""),
                f"{s.params_b:g}B" if s.params_b else "-", s.licence, ", ".join(needs) or "-",
            )
        console = Console(width=240)
        console.print(t)
        opt = Table(title="-M options (generate/speed -M KEY=VALUE; default after '=')", show_lines=False)
        opt.add_column("name", no_wrap=True)
        opt.add_column("-M options", overflow="fold")
        for s in specs:
            if options[s.name]:
                opt.add_row(s.name, ", ".join(f"{k}={s.options[k]}" if k in s.options else k for k in options[s.name]))
        console.print(opt)
