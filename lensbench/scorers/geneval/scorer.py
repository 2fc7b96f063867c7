"""The GenEval scorer: detector + colour classifier (batched) + the official decision (pure) + summaries.

Per image it records the official fields (tag, prompt, correct, reason, kept boxes as ``details``) plus the colours
it classified. `summarize` returns the lensbench metrics and writes ``results.jsonl`` in the official schema beside
the numbered folders (``<run>/geneval/results.jsonl``), so djghosh13/geneval's summary_scores.py reads it unchanged.
`discover` scores official-layout folders made by other tools (``<dir>/<digits>/metadata.jsonl`` + ``samples/``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.scorers.base import Scorer, ScoreUnit
from lensbench.scorers.geneval.color import ColorClassifier, ColorRequest, as_bool, make_color_classifier
from lensbench.scorers.geneval.decision import DecisionOptions, color_requests, details_json_obj, evaluate, select_detections
from lensbench.scorers.geneval.detector import Detector, make_detector
from lensbench.scorers.geneval.summary import RESULT_FIELDS, lensbench_metrics
from lensbench.store.atomic import write_text_atomic
from lensbench.store.results import MetricValue
from lensbench.suites.base import Suite

SAMPLE_RE = re.compile(r"\d+\.png")  # evaluate_images.py: re.match(r"\d+\.png", imagename)
RESULTS_FILENAME = "results.jsonl"
KNOWN_OPTIONS = frozenset({
    "detector", "detector_model", "detector_revision", "input_size", "label_map", "max_per_image", "min_score",
    "detector_batch_size", "mmdet_config", "mmdet_model_path", "model", "tiny_labels",
    "clip", "clip_backend", "clip_model", "clip_pretrained", "bgcolor", "crop", "color_batch_size", "amp", "colors",
    "device", "threshold", "counting_threshold", "max_objects", "max_overlap", "position_threshold", "box_dtype",
    "results",
})


def load_image(path: Path):
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            return ImageOps.exif_transpose(im).convert("RGB")
    except FileNotFoundError:
        raise UserError(f"image {path} is missing; re-run `lensbench generate` for this run to make it") from None
    except OSError as exc:
        raise UserError(f"image {path} cannot be read ({exc}); delete it and re-run `lensbench generate`") from None


class GenEvalScorer(Scorer):
    name = "geneval"
    version = "1"
    batch_size = 16

    def __init__(self, options: Mapping[str, Any] | None = None, *, detector: Detector | None = None,
                 color_classifier: ColorClassifier | None = None):
        options = dict(options or {})
        unknown = sorted(set(options) - KNOWN_OPTIONS)
        if unknown:
            raise UserError(f"unknown geneval scorer option(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_OPTIONS))}")
        self.decision = DecisionOptions.from_options(options)
        if "min_score" not in options:  # exact pruning (see detector.instance_postprocess)
            options["min_score"] = min(self.decision.threshold, self.decision.counting_threshold)
        self.options = options
        self.detector = detector or make_detector(str(options.get("detector", "hf-mask2former")), options)
        self.color_classifier = color_classifier or make_color_classifier(options)
        self.detector_batch_size = int(options.get("detector_batch_size", 0)) or None
        self.write_results = as_bool(options.get("results"), True)
        self._run_dir: Path | None = None

    def settings(self) -> dict[str, Any]:
        from lensbench.suites.geneval import GENEVAL_COMMIT, GENEVAL_REPO

        return {"decision": self.decision.to_dict(), "detector": self.detector.settings(),
                "color_classifier": self.color_classifier.settings(), "detector_batch_size": self.detector_batch_size,
                "official_reference": {"repo": GENEVAL_REPO, "commit": GENEVAL_COMMIT,
                                       "files": ["evaluation/evaluate_images.py", "evaluation/summary_scores.py"]}}

    def load(self) -> None:
        self.detector.load()
        self.color_classifier.load()

    # -- scoring --------------------------------------------------------------------------------------------------
    def _detect(self, images, paths):
        step = self.detector_batch_size or len(images)
        out = []
        for s in range(0, len(images), step):
            out.extend(self.detector.detect(images[s:s + step], paths[s:s + step]))
        return out

    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        run_dir = Path(run_dir)
        self._run_dir = run_dir
        paths = [run_dir / u.images[0] for u in units]
        images = [load_image(p) for p in paths]
        detections = self._detect(images, [str(p) for p in paths])
        kept = [select_detections(d.boxes, u.item.metadata["tag"], masks=d.masks, options=self.decision)
                for d, u in zip(detections, units)]
        requests, owner = [], []
        for i, u in enumerate(units):
            for classname, objs in color_requests(u.item.metadata, kept[i]):
                requests.append(ColorRequest(images[i], classname, tuple(objs)))
                owner.append(i)
        answers = self.color_classifier.classify(requests) if requests else []
        per_image: list[list[tuple[str, list[str]]]] = [[] for _ in units]
        for i, req, ans in zip(owner, requests, answers):
            per_image[i].append((req.classname, list(ans)))
        records = []
        for i, u in enumerate(units):
            queue = list(per_image[i])

            def lookup(classname, objects, _q=queue):
                name, colors = _q.pop(0)
                if name != classname or len(colors) != len(objects):
                    raise RuntimeError("GenEval colour requests were answered out of order")
                return colors

            correct, reason = evaluate(u.item.metadata, kept[i], lookup, options=self.decision)
            records.append({
                "key": u.key, "item_id": u.item.id, "index": u.info.get("index"), "image": u.images[0],
                "tag": u.item.metadata["tag"], "prompt": u.item.metadata["prompt"], "correct": bool(correct),
                "reason": reason, "details": details_json_obj(kept[i]),
                "colors": [{"class": n, "colors": c} for n, c in per_image[i]],
            })
        return records

    # -- results --------------------------------------------------------------------------------------------------
    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        records = [r for r in records if r.get("status", "ok") == "ok" and "correct" in r]
        if not records:
            raise UserError("no scored GenEval images to summarise; run `lensbench score` on a run with images")
        if self.write_results and self._run_dir is not None:
            write_official_results(self._run_dir, records, suite)
        return lensbench_metrics(records, prompt_key="item_id")

    def finalize(self, run_dir, records: Sequence[dict[str, Any]], suite: Suite) -> Path | None:
        """Write results.jsonl for `run_dir` (for runners that call it after summarize)."""
        recs = [r for r in records if r.get("status", "ok") == "ok" and "correct" in r]
        return write_official_results(Path(run_dir), recs, suite) if recs and self.write_results else None

    # -- folders made by other tools ------------------------------------------------------------------------------
    def discover(self, run_dir) -> tuple[Suite, list[dict[str, Any]]]:
        suite, records = discover_official_layout(Path(run_dir))
        self._run_dir = Path(run_dir)
        return suite, records


def official_row(record: Mapping[str, Any], items: Mapping[str, Any]) -> dict[str, Any]:
    """One results.jsonl row in evaluate_images.py's schema (metadata and details as JSON strings)."""
    item = items.get(record["item_id"])
    meta = dict(item.metadata) if item is not None else {}
    row = {"filename": record["image"], "tag": record["tag"], "prompt": record["prompt"],
           "correct": bool(record["correct"]), "reason": record["reason"], "metadata": json.dumps(meta),
           "details": json.dumps(record["details"])}
    return {k: row[k] for k in RESULT_FIELDS}


def results_path(run_dir: Path, records: Sequence[Mapping[str, Any]]) -> Path:
    """Beside the numbered folders: <run>/geneval/results.jsonl for lensbench runs, <dir>/results.jsonl else."""
    parts = Path(records[0]["image"]).parts
    root = Path(*parts[:-3]) if len(parts) > 3 and parts[-2] == "samples" else Path()
    return (root if root.is_absolute() else run_dir / root) / RESULTS_FILENAME


def write_official_results(run_dir: Path, records: Sequence[Mapping[str, Any]], suite: Suite) -> Path:
    """Write results.jsonl (atomically), rows ordered by item id then image index."""
    items = {it.id: it for it in suite.items()}
    ordered = sorted(records, key=lambda r: (str(r["item_id"]), r.get("index") or 0))
    path = results_path(Path(run_dir), ordered)
    write_text_atomic(path, "".join(json.dumps(official_row(r, items)) + "\n" for r in ordered))
    return path


def _digit_dirs(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    return sorted((p for p in path.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: (int(p.name), p.name))


def discover_official_layout(run_dir: Path) -> tuple[Suite, list[dict[str, Any]]]:
    """Suite + pseudo generation records for ``<run_dir>[/geneval]/<digits>/{metadata.jsonl,samples/<n>.png}``."""
    from lensbench.suites.geneval import GenEvalSuite, items_from_records, validate_record

    root = run_dir / "geneval" if _digit_dirs(run_dir / "geneval") else run_dir
    folders = _digit_dirs(root)
    if not folders:
        raise UserError(f"{run_dir} has no GenEval image folders (<index>/metadata.jsonl + samples/*.png); "
                        "pass a lensbench run or an official-layout GenEval folder")
    metas, ids, records = [], [], []
    for folder in folders:
        meta_path = folder / "metadata.jsonl"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{meta_path} is missing or not one JSON object ({exc}); fix or remove folder {folder.name}") from None
        metas.append(validate_record(meta, str(meta_path)))
        ids.append(folder.name)
        samples = folder / "samples"
        names = sorted(n.name for n in samples.iterdir() if n.is_file() and SAMPLE_RE.match(n.name)) if samples.is_dir() else []
        for name in names:
            rel = (folder / "samples" / name).relative_to(run_dir)
            records.append({"key": f"geneval/{folder.name}/{name}", "item_id": folder.name, "status": "ok",
                            "index": int(SAMPLE_RE.match(name).group(0)[:-4]), "image": rel.as_posix()})
    if not records:
        raise UserError(f"{root} has GenEval folders but no samples/<n>.png images; generate images first")
    suite = GenEvalSuite(items_from_records(metas, "en", ids=ids), source=str(root.resolve()), options={"discovered": True})
    return suite, records


def make_scorer(options: dict[str, Any] | None = None) -> GenEvalScorer:
    return GenEvalScorer(options)
