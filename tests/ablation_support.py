"""Test doubles for ablation tests: a fast fake generator (same interface as a real adapter) and a tiny
test-only scorer registered under "test-pixels" (image-dependent, so cells really differ)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from lensbench.generators.base import GenerationRequest, Generator
from lensbench.scorers import SCORERS
from lensbench.scorers.base import Scorer, ScoreUnit
from lensbench.store.results import MetricValue
from lensbench.suites.base import Suite


class FakeGenerator(Generator):
    """Deterministic flat-colour images from (prompt, seed, steps, guidance); counts loads and images."""

    loads = 0
    images = 0
    apply_shift = False  # set by fake_factory from -M pass.apply_shift

    def load(self) -> None:
        FakeGenerator.loads += 1

    def generate(self, requests: Sequence[GenerationRequest], step_callback=None) -> list:
        from PIL import Image

        out = []
        for r in requests:
            h = hashlib.sha256(f"{r.prompt}|{r.seed}|{r.steps}|{r.guidance}".encode()).digest()
            out.append(Image.new("RGB", (r.width, r.height), (h[0], h[1], h[2])))
        FakeGenerator.images += len(requests)
        return out

    def info(self) -> dict[str, Any]:
        info = {"model": self.spec.name, "adapter": "fake"}
        if self.apply_shift:  # a stand-in for an adapter that honours scheduler_shift
            info["scheduler_shift"] = self.load_options.options.get("scheduler_shift")
        return info


def fake_factory(cfg, ctx):
    from lensbench.generators import LoadOptions
    from lensbench.runners.plan import load_model_options

    gen = FakeGenerator(ctx.spec, LoadOptions(device="cpu", options=load_model_options(cfg.model_options)))
    gen.apply_shift = bool(cfg.model_options.get("pass.apply_shift"))  # -M pass.apply_shift=true in the grid
    return gen


class PixelScorer(Scorer):
    """correct = the image's red channel is above 127 (a stand-in for a real judge)."""

    name = "test-pixels"
    batch_size = 4

    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        from pathlib import Path

        from PIL import Image

        out = []
        for u in units:
            with Image.open(Path(run_dir) / u.images[0]) as im:
                red = im.convert("RGB").getpixel((0, 0))[0]
            out.append({"item_id": u.item.id, "index": u.info.get("index"), "correct": red > 127, "red": red})
        return out

    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        vals = [float(r["correct"]) for r in records]
        rows = [MetricValue("pixels", sum(vals) / len(vals), len(vals), unit="fraction")]
        cats = {it.id: it.category for it in suite.items()}
        for cat in sorted({c for c in cats.values() if c}):
            v = [float(r["correct"]) for r in records if cats.get(r["item_id"]) == cat]
            if v:
                rows.append(MetricValue("pixels", sum(v) / len(v), len(v), category=cat, unit="fraction"))
        return rows


SCORERS.register("test-pixels", lambda options: PixelScorer(), replace=True)
