"""The DPG-Bench scorer: one unit per prompt grid (key ``dpg/<item_id>``), VQA on every tile, official scoring.

Options (``-O key=value``): backend (mplug | blip-vqa | vlm | tiny; default mplug = official), model, device,
dtype, max_new_tokens, prompt (vlm), seed (of the tiny backend's random weights) / answer_bias (tiny),
vqa_batch_size, csv, prompts, skip_first_row (default true = official row-0 quirk), answer_mode (exact = official |
normalized), resolution (tile size R; default grid width / 2), pic_num (tiles per grid; default: images generated,
or 4 for discovered grids), n_boot, ci_seed (bootstrap seed), alpha. Declared as `DpgOptions` and the backends'
options dataclasses (lensbench.scorers.dpg.backends).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lensbench.errors import UserError
from lensbench.scorers.base import MetricMeta, PairedRule, ProtocolInfo, Scorer, ScoreUnit, parse_parts
from lensbench.scorers.dpg import official
from lensbench.scorers.dpg.backends import BACKENDS, OFFICIAL_MPLUG, make_backend
from lensbench.suites.grid import GRID_SLOTS, crop_tiles, infer_resolution
from lensbench.scorers.dpg.questions import QuestionTable, read_question_csv
from lensbench.stats import DEFAULT_N_BOOT, DEFAULT_SEED
from lensbench.store.results import MetricValue
from lensbench.suites.base import Suite

DPG_CATEGORIES = ("global", "entity", "attribute", "relation", "other")


@dataclass(frozen=True)
class DpgOptions:
    """Scorer-level ``-O`` options (the VQA backend's own options are declared by the backend).

    ``ci_seed`` is the bootstrap seed of the CIs; a backend's ``seed`` (tiny) is the seed of its weights."""

    backend: str = "mplug"
    vqa_batch_size: int = 16
    csv: str | None = None
    prompts: str | None = None
    skip_first_row: bool = True
    answer_mode: Literal["exact", "normalized"] | None = None  # None: the backend's default
    resolution: int | None = None
    pic_num: int | None = None
    n_boot: int = DEFAULT_N_BOOT
    ci_seed: int = DEFAULT_SEED
    alpha: float = 0.05

    def __post_init__(self) -> None:
        for key, lo, hi in (("vqa_batch_size", 1, None), ("resolution", 1, None), ("pic_num", 1, GRID_SLOTS),
                            ("n_boot", 1, None), ("ci_seed", 0, None)):
            v = getattr(self, key)
            if v is not None and (v < lo or (hi is not None and v > hi)):
                raise UserError(f"dpg scorer option {key} must be between {lo} and {hi if hi is not None else 'inf'}, "
                                f"got {v}")
        if not 0 < self.alpha < 1:
            raise UserError(f"dpg scorer option alpha must be between 0 and 1, got {self.alpha}")


class DpgScorer(Scorer):
    name = "dpg"
    version = "1"
    batch_size = 4  # prompt grids per score_batch call (each is pic_num x n_questions VQA calls)
    Options = DpgOptions
    metrics_meta = {
        "dpg": MetricMeta("DPG", unit="percent", decimals=2, canonical="dpg", categories=DPG_CATEGORIES),
        "dpg_excluded_prompts": MetricMeta("DPG excluded prompts", higher_is_better=False, unit="count", decimals=0),
    }
    paired_rule = PairedRule("dpg", "mean", field="prompt_score", scale=100.0)

    def __init__(self, options: dict[str, Any] | None = None):
        raw = dict(options or {})
        self.backend_name = BACKENDS.canonical(str(raw.get("backend", DpgOptions.backend)))
        parsed = parse_parts(raw, {"scorer": DpgOptions, "backend": BACKENDS.get(self.backend_name).Options},
                             what="dpg scorer")
        o: DpgOptions = parsed["scorer"]
        self.options = o
        self.backend = make_backend(self.backend_name, parsed["backend"])
        self.answer_mode = o.answer_mode or self.backend.default_answer_mode
        self.skip_first_row = o.skip_first_row
        self.vqa_batch_size = o.vqa_batch_size
        self.resolution = o.resolution
        self.pic_num = o.pic_num
        self.n_boot, self.ci_seed, self.alpha = o.n_boot, o.ci_seed, o.alpha
        self.csv = o.csv
        self.prompts = o.prompts
        self.questions: QuestionTable | None = None
        self._csv_sha256: str | None = None
        self._pic_nums: set[int] = set()
        self._loaded = False
        self._backend_fp = self.backend.fingerprint()  # before load() (the tiny backend fills in its cache path)
        self._fingerprint: dict[str, Any] | None = None

    # -- questions ---------------------------------------------------------------------------------
    def load_questions(self, suite: Suite | None = None) -> QuestionTable:
        if self.questions is None:
            from lensbench.suites import dpg_data

            path = self.csv or (suite.options.get("csv") if suite is not None else None)
            if not path:
                path = dpg_data.default_csv_path()
                if not Path(path).is_file():
                    raise UserError(
                        f"DPG-Bench scoring needs the question CSV dpg_bench.csv (not found in {path.parent}); pass -O csv=PATH "
                        f"(from {dpg_data.UPSTREAM_REPO} dpg_bench/) or run `lensbench dpg fetch` with a network"
                    )
            self.questions = read_question_csv(path, skip_first_row=self.skip_first_row)
            self._csv_sha256 = dpg_data.file_sha256(path)
        return self.questions

    def fingerprint(self) -> dict[str, Any]:
        """Everything that changes a unit's record (backend and weights, matching, CSV bytes, crop options)."""
        if self._fingerprint is not None and self._fingerprint["csv_sha256"] == self._csv_sha256:
            return self._fingerprint
        fp = {"scorer": self.name, "version": self.version, "vqa": self._backend_fp, "answer_mode": self.answer_mode,
              "skip_first_row": self.skip_first_row, "resolution": self.resolution, "pic_num": self.pic_num,
              "csv_sha256": self._csv_sha256}  # fmt: skip
        self._fingerprint = fp
        return fp

    def protocol(self) -> ProtocolInfo:
        backend = f"{self.backend_name}:{self.backend.options.get('model')}"
        judge = backend if self.backend_name == "vlm" else None
        return ProtocolInfo(backend=backend, judge=judge, deviations=tuple(self.deviations()))

    # -- units -------------------------------------------------------------------------------------
    def units(self, suite: Suite, generation_records: Sequence[dict[str, Any]]) -> list[ScoreUnit]:
        self.load_questions(suite)
        items = {it.id: it for it in suite.items()}
        by_item: dict[str, list[dict[str, Any]]] = {}
        for rec in generation_records:
            if rec.get("status") == "ok" and rec.get("item_id") in items:
                by_item.setdefault(rec["item_id"], []).append(rec)
        grid_of = getattr(suite, "grid_relpath", lambda iid: f"dpg/{iid}.png")
        units = []
        for item_id in sorted(by_item):
            recs = sorted(by_item[item_id], key=lambda r: r.get("index", 0))
            if recs[0].get("grid"):  # discovered official-layout grid made by another tool
                grid, n_tiles = recs[0]["image"], GRID_SLOTS
            else:
                grid, n_tiles = grid_of(item_id), min(len(recs), GRID_SLOTS)
            pic_num = self.pic_num or n_tiles
            units.append(ScoreUnit(f"dpg/{item_id}", items[item_id], (grid,), {"pic_num": pic_num}))
        return units

    # -- scoring -----------------------------------------------------------------------------------
    def downloads(self) -> list[dict[str, Any]]:
        """The VQA model's Hub snapshot ([] for ModelScope's mPLUG: `lensbench fetch` then loads it once)."""
        return self.backend.downloads() or []

    def load(self) -> None:
        if not self._loaded:
            self.backend.load()
            self._loaded = True

    def _ask(self, pairs: list[tuple[Any, str]]) -> list[str]:
        answers: list[str] = []
        for start in range(0, len(pairs), self.vqa_batch_size):
            chunk = pairs[start : start + self.vqa_batch_size]
            answers.extend(self.backend.answer([p[0] for p in chunk], [p[1] for p in chunk]))
        return answers

    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        from PIL import Image

        table = self.load_questions()
        self.load()
        plans, pairs = [], []
        for unit in units:
            rec: dict[str, Any] = {"key": unit.key, "item_id": unit.item.id, "image": unit.images[0], "status": "ok",
                                   "fingerprint": self.fingerprint()}  # fmt: skip
            path = Path(unit.images[0])
            path = path if path.is_absolute() else Path(run_dir) / path
            questions = table.get(unit.item.id)
            if questions is None:
                rec["excluded"] = "item not in the question CSV (official: 'Failed filename')"
                plans.append((rec, None, 0, 0))
                continue
            try:
                with Image.open(path) as im:
                    grid = im.copy()
            except (OSError, ValueError) as exc:
                rec.update(status="failed", error=f"cannot read grid {path}: {exc}")
                plans.append((rec, None, 0, 0))
                continue
            pic_num = int(unit.info.get("pic_num", GRID_SLOTS))
            resolution = self.resolution or infer_resolution(grid)
            tiles = crop_tiles(grid, resolution, pic_num)
            rec.update(resolution=resolution, pic_num=pic_num, grid_size=list(grid.size))
            self._pic_nums.add(pic_num)
            start = len(pairs)
            pairs.extend((tile, q.question) for tile in tiles for q in questions.values())
            plans.append((rec, questions, start, pic_num))
        answers = self._ask(pairs)
        return [self._finish(rec, qs, answers, start, n) if qs is not None else rec for rec, qs, start, n in plans]

    def _finish(self, rec, questions, answers, start, pic_num) -> dict[str, Any]:
        nq = len(questions)
        per_tile = [dict(zip(questions, answers[start + t * nq : start + (t + 1) * nq])) for t in range(pic_num)]
        qrecs = [
            {"qid": qid, "question": q.question, "tuple": q.tuple, "category_l2": q.category_l2,
             "category_l1": q.category_l1, "dependency": list(q.dependency), "answers": [a[qid] for a in per_tile]}
            for qid, q in questions.items()
        ]  # fmt: skip
        try:
            item = official.score_item(questions, per_tile, answer_mode=self.answer_mode)
        except official.MissingParentError as exc:
            rec["excluded"] = f"{exc} (official: KeyError, 'Failed filename')"
            for qr in qrecs:
                qr["raw"] = [official.answer_score(a, self.answer_mode) for a in qr["answers"]]
            rec["questions"] = qrecs
            return rec
        for qr in qrecs:
            qid = qr["qid"]
            qr["raw"] = [r[qid] for r in item.raw]
            qr["final"] = [f[qid] for f in item.final]
            qr["valid"] = [v[qid] for v in item.validity]
        rec.update(prompt_score=item.prompt_score, tile_scores=list(item.tile_scores), questions=qrecs)
        return rec

    # -- results -----------------------------------------------------------------------------------
    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        from lensbench.scorers.dpg.summary import summarize_records

        if self._csv_sha256 is not None:  # never mix records made with other settings into one result
            mine = self.fingerprint()
            n_stale = sum(r.get("fingerprint") != mine for r in records)
            if n_stale:
                raise UserError(
                    f"{n_stale} DPG records were scored with other settings "
                    "(backend, CSV, answer_mode, skip_first_row, resolution or pic_num); delete records/score.dpg.*.jsonl "
                    "in the run to re-score, or score with the same options"
                )
        self._pic_nums |= {int(r["pic_num"]) for r in records if r.get("pic_num")}
        return summarize_records(records, n_boot=self.n_boot, seed=self.ci_seed, alpha=self.alpha)

    def deviations(self) -> list[str]:
        """Every way this setup differs from the official one (empty = official)."""
        dev = []
        if self.backend_name != "mplug":
            dev.append(f"VQA backend {self.backend_name!r} ({self.backend.options.get('model')}) instead of the official mPLUG-large ({OFFICIAL_MPLUG})")
        elif self.backend.options.get("model") != OFFICIAL_MPLUG:
            dev.append(f"mPLUG checkpoint {self.backend.options.get('model')!r} instead of {OFFICIAL_MPLUG}")
        if self.answer_mode != "exact":
            dev.append("answers matched after normalisation (lower-case, first word, punctuation stripped); official: exact answer == 'yes'")
        if not self.skip_first_row:
            dev.append("CSV row 0 kept (corrected); the official script drops it (row-0 quirk, TencentQQGYLab/ELLA#61)")
        for n in sorted(self._pic_nums - {GRID_SLOTS}):
            dev.append(f"{n} tile(s) per prompt scored; official dist_eval.sh uses PIC_NUM=4")
        return dev

    def settings(self) -> dict[str, Any]:
        from lensbench.suites import dpg_data

        return {
            "vqa": self.backend.describe(),
            "answer_mode": self.answer_mode,
            "skip_first_row": self.skip_first_row,
            "resolution": self.resolution or "grid width / 2",
            "pic_num": self.pic_num or "images generated per prompt (discovered grids: 4)",
            "vqa_batch_size": self.vqa_batch_size,
            "category_scores": "official: raw score of the last tile (ELLA#60); corrected: all tiles after dependencies",
            "csv": self.questions.path if self.questions else self.csv,
            "csv_sha256": self._csv_sha256,
            "csv_sha256_pinned": dpg_data.CSV_SHA256,
            "n_items_in_csv": len(self.questions) if self.questions else None,
            "csv_notes": list(self.questions.notes) if self.questions else [],
            "bootstrap": {"n_boot": self.n_boot, "seed": self.ci_seed, "alpha": self.alpha, "unit": "prompt"},
            "official_source": "TencentQQGYLab/ELLA dpg_bench/compute_dpg_bench.py @ 3c228f1",
            "deviations": self.deviations(),
        }

    # -- external folders ----------------------------------------------------------------------------
    def discover(self, run_dir) -> tuple[Suite, list[dict[str, Any]]]:
        from lensbench.scorers.dpg.discover import discover_grids

        return discover_grids(Path(run_dir), csv=self.csv, prompts=self.prompts, questions=self.load_questions)


def make_scorer(options: dict[str, Any] | None = None) -> DpgScorer:
    """Scorer factory (SCORERS registers the class itself)."""
    return DpgScorer(options)
