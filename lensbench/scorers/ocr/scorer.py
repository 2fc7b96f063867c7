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
("8,24" characters), ``n_boot`` (2000), ``ci_seed`` (0, the bootstrap seed), ``per_prompt`` (false: add one row per prompt),
``batch_size`` (16); for folders without a manifest (images made by another tool, official layouts):
``suite`` (text | longtext | cvtg) and the suite options ``suite_path=DIR``, ``suite_language=en``,
``suite_categories``, ``suite_subsets``, ``suite_areas=2,3``. All declared in `TextOptions` and the backend's
options dataclass (lensbench.scorers.ocr.backends).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.util.files import sha256_file
from lensbench.scorers.base import MetricMeta, PairedRule, ProtocolInfo, Scorer, ScoreUnit, parse_parts
from lensbench.scorers.ocr import aggregate
from lensbench.scorers.ocr.backends import OCR_BACKENDS, OcrLine, make_backend
from lensbench.scorers.ocr.metrics import CVTG_NED_EPS, length_bucket, score_image
from lensbench.store.results import MetricValue
from lensbench.suites.base import Suite

#: the OCR each official protocol reads text with (shared/reference/benchmarks.md, both "unverified" there):
#: CVTG-2K PaddleOCR, LongText-Bench (X-Omni) Qwen2.5-VL as OCR. "text" is lensbench's own suite.
OFFICIAL_OCR = {"cvtg": "paddleocr", "longtext": "Qwen2.5-VL (as OCR)"}


@dataclass(frozen=True)
class TextOptions:
    """Scorer-level ``-O`` options (the OCR backend's own options are declared by the backend).

    ``ci_seed`` is the bootstrap seed of the CIs. ``suite`` and ``suite_*`` rebuild the suite for folders made by
    another tool (no manifest): suite_path=DIR, suite_language=en|zh, suite_categories, suite_subsets, suite_areas.
    """

    backend: str = "rapidocr"
    cache: bool = True
    cache_dir: str | None = None
    ned_eps: float = CVTG_NED_EPS
    join_words: bool = False
    length_edges_en: tuple[int, ...] = (5, 20)
    length_edges_zh: tuple[int, ...] = (8, 24)
    n_boot: int = 2000
    ci_seed: int = 0
    per_prompt: bool = False
    batch_size: int | None = None
    suite: str | None = None
    suite_path: str | None = None
    suite_language: str | None = None
    suite_categories: str | None = None
    suite_subsets: str | None = None
    suite_areas: str | None = None

    def __post_init__(self) -> None:
        for key in ("length_edges_en", "length_edges_zh"):
            edges = getattr(self, key)
            if len(edges) != 2 or not 0 <= edges[0] < edges[1]:
                raise UserError(f"scorer option {key}={','.join(map(str, edges))} must be two integers 'a,b' with "
                                "0 <= a < b")
        if (self.batch_size is not None and self.batch_size < 1) or self.n_boot < 1:
            raise UserError("scorer options batch_size and n_boot must be at least 1")

    def suite_options(self) -> dict[str, str]:
        return {k[len("suite_"):]: v for k, v in vars(self).items() if k.startswith("suite_") and v is not None}


_RATIO_META = {
    "word_accuracy": MetricMeta("Word accuracy", decimals=4), "ned": MetricMeta("NED", decimals=4),
    "text_score": MetricMeta("Text score", decimals=4), "text_precision": MetricMeta("Text precision", decimals=4),
    "region_accuracy": MetricMeta("Region accuracy", decimals=4),
}


class TextScorer(Scorer):
    name = "text"
    version = "1"
    batch_size = 16
    Options = TextOptions
    metrics_meta = _RATIO_META
    paired_rule = PairedRule("word_accuracy", "ratio", num="word_correct", den="word_total")

    def __init__(self, options: dict[str, Any] | None = None, *, name: str = "text", default_suite: str = "text"):
        self.name = name
        raw = dict(options or {})
        backend_name = OCR_BACKENDS.canonical(str(raw.get("backend", TextOptions.backend)))  # lists the backends
        parts = {"scorer": TextOptions, "backend": OCR_BACKENDS.get(backend_name).Options}
        parsed = parse_parts(raw, {k: v for k, v in parts.items() if v is not None}, what=f"{name} scorer")
        o: TextOptions = parsed["scorer"]
        self.options = o
        self.backend = make_backend(backend_name, parsed.get("backend"))
        self.use_cache = o.cache
        self.cache_dir = o.cache_dir
        self.ned_eps = o.ned_eps
        self.join_words = o.join_words
        self.length_edges = {"en": tuple(o.length_edges_en), "zh": tuple(o.length_edges_zh)}
        self.n_boot = o.n_boot
        self.ci_seed = o.ci_seed
        self.per_prompt = o.per_prompt
        self.batch_size = o.batch_size or type(self).batch_size
        self.discover_suite = o.suite or default_suite
        self.discover_options = o.suite_options()
        self._cache = None
        self._cache_root: Path | None = None
        self.ocr_calls = 0  # images actually sent to the OCR backend (tests and benchmarks read this)

    def fingerprint(self) -> dict[str, Any]:
        return {"scorer": self.name, "version": self.version, "ocr": self.backend.settings(), "ned_eps": self.ned_eps,
                "join_words": self.join_words, "length_edges": {k: list(v) for k, v in self.length_edges.items()}}

    def protocol(self) -> ProtocolInfo:
        dev = []
        official = OFFICIAL_OCR.get(self.name)
        if official and self.backend.name != official:
            dev.append(f"OCR {self.backend.name} instead of the official {official}")
        elif not official:
            dev.append(f"OCR {self.backend.name}: lensbench's own text-rendering protocol (no official OCR pinned)")
        if self.ned_eps != CVTG_NED_EPS:
            dev.append(f"ned_eps={self.ned_eps} instead of {CVTG_NED_EPS}")
        if self.join_words:
            dev.append("join_words=true (words joined across OCR lines)")
        return ProtocolInfo(backend=f"ocr:{self.backend.name}", judge=None, deviations=tuple(dev))

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
            "bootstrap": {"unit": "prompt", "n_boot": self.n_boot, "seed": self.ci_seed, "alpha": 0.05},
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
        return aggregate.summarize_records(ok, n_boot=self.n_boot, seed=self.ci_seed, include_prompts=self.per_prompt)

    @staticmethod
    def _path(run_dir: Path, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else run_dir / p


def _sha256_file(path: Path) -> str:
    try:
        return sha256_file(path)
    except FileNotFoundError:
        raise UserError(f"image {path} is missing; re-run generation (it resumes) or remove its record") from None


def _load_rgb(path: Path):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise UserError(f"cannot read image {path} ({exc}); re-generate it or remove its record") from None


class LongTextScorer(TextScorer):
    name = "longtext"
    paired_rule = PairedRule("text_score", "ratio", num="text_matched", den="text_total")

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options, name="longtext", default_suite="longtext")


class CvtgScorer(TextScorer):
    name = "cvtg"

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options, name="cvtg", default_suite="cvtg")


def make_scorer(options: dict[str, Any]) -> TextScorer:
    return TextScorer(options, name="text", default_suite="text")


def make_longtext_scorer(options: dict[str, Any]) -> TextScorer:
    return LongTextScorer(options)


def make_cvtg_scorer(options: dict[str, Any]) -> TextScorer:
    return CvtgScorer(options)
