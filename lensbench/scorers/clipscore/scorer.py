"""`clipscore` scorer: image-prompt agreement with torchmetrics' CLIPScore (benchmarks.md: CLIPScore
(torchmetrics): score = max(100 * cos(E_I, E_C), 0), text truncated at the model's 77 tokens) on a transformers
CLIP model, one record per image, judged against the item's original prompt (never a rewrite).

``lensbench score RUN --scorer clipscore`` (default model openai/clip-vit-large-patch14, torchmetrics' default)
``lensbench score RUN --scorer clipscore -O model=tiny`` (a tiny random CLIP built locally; plumbing only)
``lensbench score RUN --scorer clipscore -O model=/models/clip-vit-base-patch32``

Results: ``clipscore`` (0-100, mean over prompts of the per-prompt mean over images, 95% bootstrap CI over
prompts) and one row per suite category. Published CVTG-2K CLIPScores (e.g. 0.8017, published-numbers.md) are
on a 0-1 scale with an unverified CLIP model: compare with care; every run is marked off-protocol for that reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lensbench.errors import UserError, require_module
from lensbench.scorers.base import MetricMeta, PairedRule, ProtocolInfo, Scorer, ScoreUnit
from lensbench.stats import DEFAULT_N_BOOT, DEFAULT_SEED, bootstrap_ci
from lensbench.store.results import MetricValue
from lensbench.suites.base import Suite

DEFAULT_MODEL = "openai/clip-vit-large-patch14"  # torchmetrics CLIPScore's default


@dataclass(frozen=True)
class ClipScoreOptions:
    """``-O`` options. ``model``: a Hub repo id, a local CLIP directory, or ``tiny``; ``ci_seed`` seeds the
    bootstrap CIs only."""

    model: str = DEFAULT_MODEL
    revision: str | None = None
    device: str = "auto"
    batch_size: int = 16
    n_boot: int = DEFAULT_N_BOOT
    ci_seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.n_boot < 1:
            raise UserError("clipscore scorer options batch_size and n_boot must be at least 1")


class _FeatureShim:
    """transformers >= 5 returns a model output from ``get_image_features`` / ``get_text_features`` where
    torchmetrics 1.9 expects the projected embedding tensor; this forwards to the model and hands torchmetrics
    ``pooler_output`` (the projected embedding), leaving the metric's own arithmetic untouched."""

    def __init__(self, model):
        self.model, self.config = model, model.config

    def to(self, device):
        self.model = self.model.to(device)
        return self

    @staticmethod
    def _tensor(out):
        return out if hasattr(out, "norm") else out.pooler_output

    def get_image_features(self, *args, **kwargs):
        return self._tensor(self.model.get_image_features(*args, **kwargs))

    def get_text_features(self, *args, **kwargs):
        return self._tensor(self.model.get_text_features(*args, **kwargs))


class ClipScoreScorer(Scorer):
    name = "clipscore"
    version = "1"
    Options = ClipScoreOptions
    metrics_meta: ClassVar = {"clipscore": MetricMeta("CLIPScore", unit="score", decimals=2)}
    paired_rule: ClassVar = PairedRule("clipscore", "mean", field="clipscore")

    def __init__(self, options: dict[str, Any] | None = None):
        self.options: ClipScoreOptions = self.parse(options)
        self.batch_size = self.options.batch_size
        self._metric = None
        self._device: str | None = None

    # -- identity ----------------------------------------------------------------------------------
    def _location(self) -> str:
        if self.options.model == "tiny":
            from lensbench.scorers.clipscore.tiny import ensure_tiny_clip

            return str(ensure_tiny_clip())
        return self.options.model

    def settings(self) -> dict[str, Any]:
        return {"model": self.options.model, "revision": self.options.revision, "metric": "torchmetrics.CLIPScore"}

    def fingerprint(self) -> dict[str, Any]:
        """Scorer, logic version and which weights: the tiny build by its version, a local directory (or file) by
        its content fingerprint (`lensbench.scorers.identity.with_weights`, the rule every scorer uses: the
        same weights moved elsewhere keep it, changed configs or shards change it), a Hub repo by the commit of
        its snapshot in the local cache (None when not cached yet). No network, no loaded model."""
        fp = {"scorer": self.name, "version": self.version, "model": self.options.model,
              "revision": self.options.revision}
        if self.options.model == "tiny":
            from lensbench.scorers.clipscore.tiny import VERSION

            return {**fp, "weights": f"tiny-v{VERSION}"}
        from lensbench.scorers.identity import with_weights

        return with_weights(fp, "model", self.options.revision)

    def protocol(self) -> ProtocolInfo:
        return ProtocolInfo(backend=f"torchmetrics-clipscore:{self.options.model}", deviations=(
            "CLIPScore has no verified official protocol (the CLIP model of CVTG-2K's CLIPScore is unverified)",))

    def downloads(self) -> list[dict[str, Any]]:
        if self.options.model == "tiny" or Path(self.options.model).expanduser().exists():
            return []
        return [{"repo_id": self.options.model, "revision": self.options.revision}]

    # -- scoring -----------------------------------------------------------------------------------
    def load(self) -> None:
        if self._metric is not None:
            return
        require_module("torchmetrics", "the clipscore scorer", "pip install torchmetrics transformers")
        transformers = require_module("transformers", "the clipscore scorer", "pip install transformers")
        from torchmetrics.multimodal.clip_score import CLIPScore

        from lensbench.util.device import resolve_device

        self._device = resolve_device(self.options.device)
        where, revision = self._location(), self.options.revision
        try:
            model = transformers.CLIPModel.from_pretrained(where, revision=revision)
            processor = transformers.CLIPProcessor.from_pretrained(where, revision=revision)
        except (OSError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise UserError(f"cannot load the CLIP model {self.options.model!r} for clipscore ({first}); on a machine "
                            f"with a network run `lensbench fetch clipscore` (add -O model=... for another model), or pass "
                            "-O model=DIR (a local CLIP checkpoint; -O model=tiny for a plumbing test)") from None
        self._metric = CLIPScore(model_name_or_path=lambda: (_FeatureShim(model.eval()), processor))
        self._metric = self._metric.to(self._device)

    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        import torch

        self.load()
        out = []
        for unit in units:
            image = _load_image(Path(run_dir), unit.images[0]).to(self._device)
            with torch.inference_mode():
                self._metric.update(image, unit.item.prompt)
                value = float(self._metric.compute())
            self._metric.reset()
            out.append({"key": unit.key, "item_id": unit.item.id, "category": unit.item.category,
                        "index": unit.info.get("index"), "sha256": unit.info.get("sha256"), "image": unit.images[0],
                        "clipscore": value})
        return out

    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        by_prompt: dict[str, list[float]] = {}
        category: dict[str, str | None] = {}
        for r in records:
            if r.get("status", "ok") != "ok" or r.get("clipscore") is None:
                continue
            by_prompt.setdefault(r["item_id"], []).append(float(r["clipscore"]))
            category[r["item_id"]] = r.get("category")
        rows = [self._metric_value(sorted(by_prompt), by_prompt, None)]
        for cat in sorted({c for c in category.values() if c}):
            rows.append(self._metric_value([i for i in sorted(by_prompt) if category[i] == cat], by_prompt, cat))
        return rows

    def _metric_value(self, ids: list[str], by_prompt: dict[str, list[float]], cat: str | None) -> MetricValue:
        import numpy as np

        means = [float(np.mean(by_prompt[i])) for i in ids]
        if not means:
            return MetricValue("clipscore", float("nan"), 0, category=cat, unit="score")
        lo, hi = bootstrap_ci(means, n_boot=self.options.n_boot, seed=self.options.ci_seed)
        return MetricValue("clipscore", float(np.mean(means)), len(means), lo, hi, category=cat, unit="score")


def _load_image(run_dir: Path, rel: str):
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    path = Path(rel) if Path(rel).is_absolute() else run_dir / rel
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"))
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise UserError(f"cannot read image {path} ({exc}); re-generate it (`lensbench verify --fix`) or remove "
                        "its record") from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)  # uint8 (C, H, W), as torchmetrics takes images


def make_scorer(options: dict[str, Any] | None = None) -> ClipScoreScorer:
    return ClipScoreScorer(options)
