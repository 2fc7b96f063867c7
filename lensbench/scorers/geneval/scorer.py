"""The GenEval scorer: detector + colour classifier (batched) + the official decision (pure) + summaries.

Per image it records the official fields (tag, prompt, correct, reason, kept boxes as ``details``) plus the colours
it classified. `summarize` (pure) returns the lensbench metrics; `finalize` writes ``results.jsonl`` in the official
schema beside the numbered folders (``<run>/geneval/results.jsonl``), so djghosh13/geneval's summary_scores.py reads
it unchanged. `discover` scores official-layout folders made by other tools (``<dir>/<digits>/metadata.jsonl`` +
``samples/``).

Options (``-O key=value``) are typed dataclasses: `GenEvalOptions` (detector and colour backends, batching,
results file), `DecisionOptions` (the official constants), the chosen detector's options
(`detector.HFDetectorOptions`, `MMDetOptions`, `TinyDetectorOptions`) and `color.ClipColorOptions`; one namespace,
each key routed to every part that declares it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.options import option_names
from lensbench.scorers.base import MetricMeta, PairedRule, ProtocolInfo, Scorer, ScoreUnit, parse_parts
from lensbench.scorers.geneval.color import COLOR_CLASSIFIERS, ColorClassifier, ColorRequest, make_color_classifier
from lensbench.scorers.geneval.decision import DecisionOptions, color_requests, details_json_obj, evaluate, select_detections
from lensbench.scorers.geneval.detector import DETECTORS, Detector, make_detector
from lensbench.scorers.geneval.summary import RESULT_FIELDS, lensbench_metrics
from lensbench.store.atomic import write_text_atomic
from lensbench.store.results import MetricValue
from lensbench.suites.base import Suite

SAMPLE_RE = re.compile(r"\d+\.png")  # evaluate_images.py: re.match(r"\d+\.png", imagename)
RESULTS_FILENAME = "results.jsonl"
OFFICIAL_DETECTOR = "mmdet"  # evaluate_images.py: mmdet Mask2Former Swin-S
OFFICIAL_CLIP = ("ViT-L-14", "openai")
GENEVAL_TAGS = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
GENEVAL_TAG_DISPLAY = {"single_object": "Single", "two_object": "Two", "counting": "Counting", "colors": "Colors",
                       "position": "Position", "color_attr": "Attr. binding"}


@dataclass(frozen=True)
class GenEvalOptions:
    """Scorer-level ``-O`` options (the decision constants and the backends' options are declared beside them)."""

    detector: str = "hf-mask2former"
    clip_backend: str = "open_clip"
    detector_batch_size: int = 0  # 0: the whole scoring batch in one detector call
    results: bool = True  # write the official results.jsonl in finalize


def load_image(path: Path):
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            return ImageOps.exif_transpose(im).convert("RGB")
    except FileNotFoundError:
        raise UserError(f"image {path} is missing; re-run `lensbench generate` for this run to make it") from None
    except OSError as exc:
        raise UserError(f"image {path} cannot be read ({exc}); delete it and re-run `lensbench generate`") from None


def parse_geneval_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """One ``-O`` namespace -> {"scorer", "decision", "detector", "color"} options dataclasses."""
    raw = dict(options or {})
    detector = DETECTORS.canonical(str(raw.get("detector", GenEvalOptions.detector)))
    clip_backend = COLOR_CLASSIFIERS.canonical(str(raw.get("clip_backend", GenEvalOptions.clip_backend)))
    parts = {"scorer": GenEvalOptions, "decision": DecisionOptions, "detector": DETECTORS.get(detector).Options,
             "color": COLOR_CLASSIFIERS.get(clip_backend).Options}
    declared = set().union(*(option_names(c) for c in parts.values()))
    for key in raw:
        owners = [n for n in DETECTORS.names() if key in option_names(DETECTORS.get(n).Options)]
        if key not in declared and owners:
            raise UserError(f"option {key} belongs to the GenEval detector {' / '.join(owners)}, not {detector}; "
                            f"pass -O detector={owners[0]} or drop -O {key}")
    parsed = parse_parts(raw, parts, what="geneval scorer")
    decision = parsed["decision"]
    if hasattr(parsed["detector"], "min_score") and parsed["detector"].min_score is None:
        # exact pruning (see detector.instance_postprocess): never drops a detection a threshold could keep
        parsed["detector"] = replace(parsed["detector"], min_score=min(decision.threshold, decision.counting_threshold))
    parsed["detector_name"] = detector
    return parsed


class GenEvalScorer(Scorer):
    name = "geneval"
    version = "2"  # 2: detections ordered with np.argsort(scores)[::-1] exactly as evaluate_images.py
    batch_size = 16
    Options = GenEvalOptions
    metrics_meta = {
        "geneval": MetricMeta("GenEval", canonical="geneval", categories=GENEVAL_TAGS,
                              category_display=GENEVAL_TAG_DISPLAY),
        "geneval_image_accuracy": MetricMeta("GenEval % correct images"),
        "geneval_prompt_any": MetricMeta("GenEval % correct prompts"),
    }
    paired_rule = PairedRule("geneval", "category_mean", field="correct")

    def __init__(self, options: Mapping[str, Any] | None = None, *, detector: Detector | None = None,
                 color_classifier: ColorClassifier | None = None):
        parsed = parse_geneval_options(options)
        self.options: GenEvalOptions = parsed["scorer"]
        self.decision: DecisionOptions = parsed["decision"]
        self.detector_options, self.color_options = parsed["detector"], parsed["color"]
        self.detector = detector or make_detector(parsed["detector_name"], self.detector_options)
        self.color_classifier = color_classifier or make_color_classifier(self.color_options,
                                                                          backend=self.options.clip_backend)
        self.detector_batch_size = self.options.detector_batch_size or None
        self.write_results = self.options.results

    def settings(self) -> dict[str, Any]:
        from lensbench.suites.geneval import GENEVAL_COMMIT, GENEVAL_REPO

        return {"decision": self.decision.to_dict(), "detector": self.detector.settings(),
                "color_classifier": self.color_classifier.settings(), "detector_batch_size": self.detector_batch_size,
                "official_reference": {"repo": GENEVAL_REPO, "commit": GENEVAL_COMMIT,
                                       "files": ["evaluation/evaluate_images.py", "evaluation/summary_scores.py"]}}

    def fingerprint(self) -> dict[str, Any]:
        return {"scorer": self.name, "version": self.version, "decision": self.decision.to_dict(),
                "detector": self.detector.fingerprint(), "color_classifier": self.color_classifier.fingerprint()}

    def protocol(self) -> ProtocolInfo:
        det, clf = self.detector.settings(), self.color_classifier.settings()
        dev = []
        if self.detector.name != OFFICIAL_DETECTOR:
            dev.append(f"detector {self.detector.name} ({det.get('model')}) instead of the official mmdet Mask2Former")
        if (clf.get("arch"), clf.get("pretrained")) != OFFICIAL_CLIP or clf.get("backend") != "open_clip":
            dev.append(f"colour classifier {clf.get('backend')} {clf.get('arch')} ({clf.get('pretrained')}) instead of "
                       "open_clip ViT-L-14 (openai)")
        if det.get("input_size") not in (None, "official"):
            dev.append(f"detector input_size={det.get('input_size')} instead of mmdet's 800/1333 resize")
        changed = {k: v for k, v in self.decision.to_dict().items() if DecisionOptions().to_dict()[k] != v}
        if changed:
            dev.append("decision constants changed: " + ", ".join(f"{k}={v}" for k, v in sorted(changed.items())))
        if clf.get("bgcolor") != "#999" or clf.get("crop") is not True:
            dev.append(f"colour crop bgcolor={clf.get('bgcolor')} crop={clf.get('crop')} instead of #999 / crop")
        backend = f"{self.detector.name} + {clf.get('backend')}:{clf.get('arch')}"
        return ProtocolInfo(backend=backend, judge=None, deviations=tuple(dev))

    def downloads(self) -> list[dict[str, Any]]:
        """The detector's and the colour classifier's Hub snapshots ([] when either cannot be listed: then
        `lensbench fetch` loads the scorer once, which fills every cache)."""
        parts = [self.detector.downloads(), self.color_classifier.downloads()]
        return [] if any(p is None for p in parts) else [d for p in parts for d in p]

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
        return lensbench_metrics(records, prompt_key="item_id")

    def finalize(self, run_dir, records: Sequence[dict[str, Any]], suite: Suite) -> Path | None:
        """Write the official results.jsonl for `run_dir` (the score runner calls it after the results)."""
        recs = [r for r in records if r.get("status", "ok") == "ok" and "correct" in r]
        return write_official_results(Path(run_dir), recs, suite) if recs and self.write_results else None

    # -- folders made by other tools ------------------------------------------------------------------------------
    def discover(self, run_dir) -> tuple[Suite, list[dict[str, Any]]]:
        return discover_official_layout(Path(run_dir))


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


make_scorer.scorer_class = GenEvalScorer  # type: ignore[attr-defined]
