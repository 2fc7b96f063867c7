"""The OCR text-rendering scorer: registered as "text" (alias "ocr"), "longtext" and "cvtg".

One unit per image. `score_batch` looks every image up in the OCR cache by its sha256 (from the generation
record), runs the OCR backend on the misses only, in one batched call, and scores each image with the pure
functions of `metrics` against the item's ``metadata["targets"]``. `summarize` pools the per-image counts per
prompt and reports word accuracy, NED, text score, text precision and region accuracy overall and per language,
category, length bucket and region count, with 95% bootstrap CIs over prompts (`aggregate`).

Options (``lensbench score ... -O key=value``): ``backend`` (rapidocr | paddleocr | easyocr), the backend's own
options (rapidocr: device, threads, min_score, batch_mode, rec_batch_num, rec_width_step, det_limit_side_len,
box_thresh, unclip_ratio, use_cls), ``cache`` (true), ``cache_dir`` (default ``<run>/cache/ocr``),
``ned_eps`` (1e-5, CVTG-2K), ``join_words`` (false), ``length_edges_en`` ("5,20" words), ``length_edges_zh``
("8,24" characters), ``n_boot`` (2000), ``seed`` (0), ``per_prompt`` (false: add one row per prompt),
``batch_size`` (16); for folders without a manifest (images made by another tool, official layouts):
``suite`` (text | longtext | cvtg) and ``suite_<option>`` for each suite option (``suite_path=DIR``,
``suite_language=en``, ``suite_areas=2,3`` ...).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.scorers.base import Scorer, ScoreUnit
from lensbench.scorers.ocr import aggregate
from lensbench.scorers.ocr.backends import OCR_BACKENDS, OcrLine, make_backend
from lensbench.scorers.ocr.metrics import CVTG_NED_EPS, length_bucket, score_image
from lensbench.store.results import MetricValue
from lensbench.suites.base import Suite

SCORER_OPTIONS = ("backend", "cache", "cache_dir", "ned_eps", "join_words", "length_edges_en", "length_edges_zh",
                  "n_boot", "seed", "per_prompt", "batch_size", "suite", "suite_<option>")


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).lower()
    if s not in ("1", "0", "true", "false", "yes", "no"):
        raise UserError(f"scorer option {key}={value!r} must be true or false")
    return s in ("1", "true", "yes")


def _number(value: Any, key: str, kind: type):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise UserError(f"scorer option {key}={value!r} must be a {kind.__name__}") from None


def _edges(value: Any, key: str) -> tuple[int, int]:
    parts = [p for p in str(value).split(",") if p.strip()] if not isinstance(value, (list, tuple)) else value
    try:
        a, b = (int(p) for p in parts)
    except (TypeError, ValueError):
        raise UserError(f"scorer option {key}={value!r} must be two integers 'a,b' with a < b") from None
    if not 0 <= a < b:
        raise UserError(f"scorer option {key}={value!r} must be two integers 'a,b' with 0 <= a < b")
    return a, b


class TextScorer(Scorer):
    name = "text"
    version = "1"
    batch_size = 16

    def __init__(self, options: dict[str, Any] | None = None, *, name: str = "text", default_suite: str = "text"):
        self.name = name
        opts = dict(options or {})
        backend_name = str(opts.pop("backend", "rapidocr"))
        backend_cls = OCR_BACKENDS.get(backend_name)  # UnknownNameError lists the backends
        backend_opts = {k: opts.pop(k) for k in list(opts) if k in backend_cls.OPTIONS and k not in SCORER_OPTIONS}
        suite_opts = {k[len("suite_"):]: opts.pop(k) for k in list(opts) if k.startswith("suite_")}
        unknown = sorted(set(opts) - set(SCORER_OPTIONS))
        if unknown:
            raise UserError(f"scorer {name!r} has no option(s) {unknown}; options: {', '.join(SCORER_OPTIONS)} "
                            f"and the {backend_name} options {', '.join(backend_cls.OPTIONS)}")
        self.backend = make_backend(backend_name, backend_opts)
        self.use_cache = _bool(opts.get("cache", True), "cache")
        self.cache_dir = opts.get("cache_dir")
        self.ned_eps = _number(opts.get("ned_eps", CVTG_NED_EPS), "ned_eps", float)
        self.join_words = _bool(opts.get("join_words", False), "join_words")
        self.length_edges = {"en": _edges(opts.get("length_edges_en", "5,20"), "length_edges_en"),
                             "zh": _edges(opts.get("length_edges_zh", "8,24"), "length_edges_zh")}
        self.n_boot = _number(opts.get("n_boot", 2000), "n_boot", int)
        self.seed = _number(opts.get("seed", 0), "seed", int)
        self.per_prompt = _bool(opts.get("per_prompt", False), "per_prompt")
        self.batch_size = _number(opts.get("batch_size", type(self).batch_size), "batch_size", int)
        if self.batch_size < 1 or self.n_boot < 1:
            raise UserError("scorer options batch_size and n_boot must be at least 1")
        self.discover_suite = str(opts.get("suite", default_suite))
        self.discover_options = suite_opts
        self._cache = None
        self._cache_root: Path | None = None
        self.ocr_calls = 0  # images actually sent to the OCR backend (tests and benchmarks read this)

    # -- settings and loading --------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {
            "ocr": self.backend.settings(),
            "ned_eps": self.ned_eps,
            "join_words": self.join_words,
            "length_edges": {k: list(v) for k, v in self.length_edges.items()},
            "rules": {"word_accuracy": "CVTG-2K unified_metrics_eval.py", "ned": "CVTG-2K (1 - lev/(max+eps))",
                      "text_score": "X-Omni LongText-Bench summary_scores.py",
                      "zh_words": "lensbench: CJK characters and letter/digit runs, punctuation ignored"},
            "bootstrap": {"unit": "prompt", "n_boot": self.n_boot, "seed": self.seed, "alpha": 0.05},
            "cache": bool(self.use_cache),
        }

    def load(self) -> None:
        """Nothing to do: the OCR model loads on the first cache miss, so re-scoring from the cache never loads it."""

    def _cache_for(self, run_dir: Path):
        from lensbench.scorers.ocr.cache import OcrCache

        if not self.use_cache:
            return None
        root = Path(self.cache_dir).expanduser() if self.cache_dir else run_dir / "cache" / "ocr"
        if self._cache is None or self._cache_root != root:
            self._cache = OcrCache(root, self.backend.settings())
            self._cache_root = root
        return self._cache

    # -- units -----------------------------------------------------------------------------------
    def units(self, suite: Suite, generation_records: Sequence[dict[str, Any]]) -> list[ScoreUnit]:
        items = {it.id: it for it in suite.items()}
        sample = next(iter(items.values()), None)
        if sample is not None and "targets" not in sample.metadata:
            raise UserError(f"suite {suite.name!r} has no target texts; the {self.name!r} scorer scores the text "
                            "suites (text, text-en, text-zh, longtext, cvtg)")
        units = []
        for rec in sorted(generation_records, key=lambda r: (r.get("item_id", ""), r.get("index", 0))):
            if rec.get("status") != "ok" or rec.get("item_id") not in items:
                continue
            info = {"index": rec.get("index"), "sha256": rec.get("sha256")}
            units.append(ScoreUnit(key=rec["key"], item=items[rec["item_id"]], images=(rec["image"],), info=info))
        return units

    def discover(self, run_dir) -> tuple[Suite, list[dict[str, Any]]]:
        """Images written by another tool (official layouts): rebuild the suite from the scorer options."""
        from lensbench.suites import load_suite

        suite = load_suite(self.discover_suite, None, dict(self.discover_options))
        if not hasattr(suite, "discover_images"):
            raise UserError(f"suite {self.discover_suite!r} cannot be discovered from a folder; pass -O suite=text|"
                            "longtext|cvtg")
        records = suite.discover_images(run_dir)
        if not records:
            raise UserError(f"no images of suite {suite.name!r} found under {run_dir}; check -O suite=... and "
                            "-O suite_path=...")
        return suite, records

    # -- scoring ---------------------------------------------------------------------------------
    def read_lines(self, run_dir, units: Sequence[ScoreUnit]) -> list[tuple[list[OcrLine], bool]]:
        """OCR lines per unit, from the cache where possible; (lines, was_cached)."""
        run_dir = Path(run_dir)
        cache = self._cache_for(run_dir)
        paths = [self._path(run_dir, u.images[0]) for u in units]
        shas = [u.info.get("sha256") or _sha256_file(p) for u, p in zip(units, paths)]
        found = [cache.get(s) if cache else None for s in shas]
        todo = [i for i, lines in enumerate(found) if lines is None]
        if todo:
            images = [_load_rgb(paths[i]) for i in todo]
            self.ocr_calls += len(images)
            for i, lines in zip(todo, self.backend.read_batch(images)):
                found[i] = lines
                if cache:
                    cache.put(shas[i], lines)
        return [(lines, i not in todo) for i, lines in enumerate(found)]

    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        out = []
        for unit, (lines, cached) in zip(units, self.read_lines(run_dir, units)):
            meta = unit.item.metadata
            lang = meta.get("language", "en")
            targets = list(meta["targets"])
            scores = score_image(targets, [ln.text for ln in lines], lang, ned_eps=self.ned_eps,
                                 join_words=self.join_words)
            out.append({
                "key": unit.key, "item_id": unit.item.id, "index": unit.info.get("index"), "image": unit.images[0],
                "language": lang, "category": unit.item.category, "n_regions": len(targets),
                "length_bucket": length_bucket(targets, lang, self.length_edges["zh" if lang == "zh" else "en"]),
                "ocr_lines": [[ln.text, round(ln.score, 4)] for ln in lines], "ocr_cached": cached,
                **scores.to_dict(),
            })
        return out

    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        ok = [r for r in records if r.get("status", "ok") == "ok"]
        return aggregate.summarize_records(ok, n_boot=self.n_boot, seed=self.seed, include_prompts=self.per_prompt)

    @staticmethod
    def _path(run_dir: Path, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else run_dir / p


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except FileNotFoundError:
        raise UserError(f"image {path} is missing; re-run generation (it resumes) or remove its record") from None
    return h.hexdigest()


def _load_rgb(path: Path):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise UserError(f"cannot read image {path} ({exc}); re-generate it or remove its record") from None


def make_scorer(options: dict[str, Any]) -> TextScorer:
    return TextScorer(options, name="text", default_suite="text")


def make_longtext_scorer(options: dict[str, Any]) -> TextScorer:
    return TextScorer(options, name="longtext", default_suite="longtext")


def make_cvtg_scorer(options: dict[str, Any]) -> TextScorer:
    return TextScorer(options, name="cvtg", default_suite="cvtg")
