"""GenEval's pass/fail decision as pure functions (no model inside).

Re-implements the logic of ``evaluation/evaluate_images.py`` in djghosh13/geneval @ af4902f (MIT, (c) 2023
Dhruba Ghosh): detection post-processing (threshold, max objects, optional NMS), the include/exclude clauses,
the position rule and the official reason text. Colours come from a caller-supplied classifier callable, so this
module never touches an image or a model. Protocol notes: shared/reference/benchmarks.md section 1.5-1.8.

Numerics follow the official scorer: mmdet returns float32 arrays, so scores are compared with the thresholds in
float32 (a score equal to float32(0.3) is dropped; the comparison is strict) and box geometry is computed in
float32. Detections are ordered with exactly the official call, ``np.argsort(scores)[::-1]`` (numpy's default
sort kind), so tied scores resolve as the official scorer resolves them on the same machine and numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import numpy as np

#: evaluate_images.py COLORS (order matters: it is the classifier's class order and the reason-text order)
COLORS: tuple[str, ...] = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white")
#: relations in the order relative_position adds them (the official returns a set; we keep this order)
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")
COUNTING_TAG = "counting"


@dataclass(frozen=True)
class DecisionOptions:
    """Every constant of the decision (evaluate_images.py ``--options`` keys, same defaults)."""

    threshold: float = 0.3  # THRESHOLD: keep detections with score > threshold (all tags but counting)
    counting_threshold: float = 0.9  # COUNTING_THRESHOLD: used when metadata["tag"] == "counting"
    max_objects: int = 16  # MAX_OBJECTS: per class, after sorting by score
    max_overlap: float = 1.0  # NMS_THRESHOLD ("max_overlap"): 1.0 means NMS off
    position_threshold: float = 0.1  # POSITION_THRESHOLD: margin as a fraction of the summed box sizes
    colors: tuple[str, ...] = COLORS
    box_dtype: str = "float32"  # mmdet's output dtype; geometry and score comparisons run in it

    def __post_init__(self) -> None:
        object.__setattr__(self, "colors", tuple(self.colors))
        try:
            object.__setattr__(self, "box_dtype", str(np.dtype(self.box_dtype)))
        except TypeError:
            from lensbench.errors import UserError

            raise UserError(f"option box_dtype={self.box_dtype!r}: not a numpy dtype; use float32 (official) or "
                            "float64") from None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["colors"] = list(self.colors)
        return d

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> "DecisionOptions":
        """Build from a dict of option strings or values; keys that are not decision constants are ignored."""
        options = dict(options or {})
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in options or options[f.name] is None:
                continue
            value = options[f.name]
            if f.name == "colors":
                value = tuple(value.split(",")) if isinstance(value, str) else tuple(value)
            elif f.name == "max_objects":
                value = int(value)
            elif f.name == "box_dtype":
                value = str(np.dtype(value))
            else:
                value = float(value)
            kwargs[f.name] = value
        return cls(**kwargs)


class KeptObject(NamedTuple):
    """One detection that survived post-processing: box = (x1, y1, x2, y2, score) as an array, mask or None."""

    box: np.ndarray
    mask: Any | None


#: colour classifier: (class name, the objects to classify) -> one colour name per object
ColorClassifier = Callable[[str, Sequence[KeptObject]], Sequence[str]]


def compute_iou(box_a: Sequence[float], box_b: Sequence[float]) -> float:
    """IoU with the ``+1`` pixel convention of evaluate_images.py (areas count inclusive pixels)."""

    def area(b: Sequence[float]) -> float:
        return max(b[2] - b[0] + 1, 0) * max(b[3] - b[1] + 1, 0)

    inter = area([max(box_a[0], box_b[0]), max(box_a[1], box_b[1]), min(box_a[2], box_b[2]), min(box_a[3], box_b[3])])
    union = area(box_a) + area(box_b) - inter
    return inter / union if union else 0


def select_detections(
    detections: Mapping[str, Any],
    tag: str,
    *,
    masks: Mapping[str, Sequence[Any | None]] | None = None,
    options: DecisionOptions | None = None,
) -> dict[str, list[KeptObject]]:
    """Per class: sort by score (descending), keep score > threshold, first `max_objects`, then greedy NMS.

    `detections` maps a class name to raw rows (x1, y1, x2, y2, score) in any order; `masks` (optional) maps the
    class name to one mask (or None) per row. Classes with nothing kept are absent from the result, which keeps
    the input's class order (the official iterates object_names.txt order).
    """
    opts = options or DecisionOptions()
    dtype = np.dtype(opts.box_dtype)
    threshold = dtype.type(opts.threshold if tag != COUNTING_TAG else opts.counting_threshold)
    kept: dict[str, list[KeptObject]] = {}
    for classname, rows in detections.items():
        boxes = np.asarray(rows, dtype=dtype).reshape(-1, 5)
        if boxes.shape[0] == 0:
            continue
        class_masks = None if masks is None else masks.get(classname)
        order = np.argsort(boxes[:, 4])[::-1]  # evaluate_images.py, verbatim (default kind: ties as official)
        order = order[boxes[order, 4] > threshold][: opts.max_objects].tolist()
        out: list[KeptObject] = []
        while order:
            best = order.pop(0)
            out.append(KeptObject(boxes[best], None if class_masks is None else class_masks[best]))
            if opts.max_overlap != 1:
                order = [o for o in order if compute_iou(boxes[best], boxes[o]) < opts.max_overlap]
        if out:
            kept[classname] = out
    return kept


def relative_position(
    box_a: Sequence[float], box_b: Sequence[float], position_threshold: float = 0.1, dtype: str = "float32"
) -> tuple[str, ...]:
    """Relations of A relative to B (image coordinates: y grows downward), in RELATIONS order.

    The centre offset is shrunk per axis by ``position_threshold * (size_A + size_B)`` (never past 0), then divided
    by the length of the *unshrunk* offset; a component below -0.5 / above 0.5 gives left of / right of (x) or
    above / below (y). When both shrunk components are below 1e-3 in magnitude there is no relation at all.
    """
    boxes = np.array([np.asarray(box_a, dtype=dtype)[:4], np.asarray(box_b, dtype=dtype)[:4]]).reshape(2, 2, 2)
    center_a, center_b = boxes.mean(axis=-2)
    dim_a, dim_b = np.abs(np.diff(boxes, axis=-2))[..., 0, :]
    offset = center_a - center_b
    revised = np.maximum(np.abs(offset) - position_threshold * (dim_a + dim_b), 0) * np.sign(offset)
    if np.all(np.abs(revised) < 1e-3):
        return ()
    dx, dy = revised / np.linalg.norm(offset)
    found = []
    if dx < -0.5:
        found.append("left of")
    if dx > 0.5:
        found.append("right of")
    if dy < -0.5:
        found.append("above")
    if dy > 0.5:
        found.append("below")
    return tuple(found)


def color_requests(metadata: Mapping[str, Any], kept: Mapping[str, Sequence[KeptObject]]) -> list[tuple[str, list[KeptObject]]]:
    """The (class name, objects) pairs `evaluate` will ask the colour classifier about, in call order.

    Lets a scorer classify every crop of a whole batch in one forward pass before deciding: an include clause
    with a colour is classified exactly when its class has at least `count` kept objects, whatever the other
    clauses do.
    """
    out = []
    for req in metadata.get("include", []):
        found = list(kept.get(req["class"], []))[: req["count"]]
        if "color" in req and len(found) >= req["count"]:
            out.append((req["class"], found))
    return out


def evaluate(
    metadata: Mapping[str, Any],
    kept: Mapping[str, Sequence[KeptObject]],
    classify_colors: ColorClassifier | None = None,
    *,
    options: DecisionOptions | None = None,
) -> tuple[bool, str]:
    """Judge kept detections (output of `select_detections`) against one metadata record -> (correct, reason).

    Include clauses are ANDed, exclude clauses ORed; colour and position use only the top-`count` objects. The
    reason is the official text: one line per failed check, joined with newlines ("" when correct).
    """
    opts = options or DecisionOptions()
    correct = True
    reasons: list[str] = []
    matched_groups: list[list[KeptObject] | None] = []
    for i, req in enumerate(metadata.get("include", [])):
        classname, count = req["class"], req["count"]
        matched = True
        found = list(kept.get(classname, []))[:count]
        if len(found) < count:
            correct = matched = False
            reasons.append(f"expected {classname}>={count}, found {len(found)}")
        else:
            if "color" in req:
                if classify_colors is None:
                    raise ValueError("a colour clause needs a colour classifier (classify_colors)")
                colors = list(classify_colors(classname, found))
                want = req["color"]
                if colors.count(want) < count:
                    correct = matched = False
                    breakdown = ", ".join(f"{colors.count(c)} {c}" for c in opts.colors if c in colors)
                    reasons.append(f"expected {want} {classname}>={count}, found {colors.count(want)} {want}; and {breakdown}")
            if "position" in req and matched:
                relation, group = req["position"]
                if not 0 <= group < i:
                    raise ValueError(f"include clause {i} refers to clause {group}, which does not precede it")
                targets = matched_groups[group]
                if targets is None:
                    correct = matched = False
                    reasons.append(f"no target for {classname} to be {relation}")
                else:
                    for obj in found:
                        for target in targets:
                            rels = relative_position(obj.box, target.box, opts.position_threshold, opts.box_dtype)
                            if relation not in rels:
                                correct = matched = False
                                reasons.append(f"expected {classname} {relation} target, found {' and '.join(rels)} target")
                                break
                        if not matched:
                            break
        matched_groups.append(found if matched else None)
    for req in metadata.get("exclude", []):
        classname, count = req["class"], req["count"]
        n = len(kept.get(classname, []))
        if n >= count:
            correct = False
            reasons.append(f"expected {classname}<{count}, found {n}")
    return correct, "\n".join(reasons)


def decide(
    metadata: Mapping[str, Any],
    detections: Mapping[str, Any],
    classify_colors: ColorClassifier | None = None,
    *,
    masks: Mapping[str, Sequence[Any | None]] | None = None,
    options: DecisionOptions | None = None,
) -> tuple[bool, str]:
    """The whole official decision for one image: `select_detections` then `evaluate` -> (correct, reason)."""
    opts = options or DecisionOptions()
    kept = select_detections(detections, metadata["tag"], masks=masks, options=opts)
    return evaluate(metadata, kept, classify_colors, options=opts)


def details_json_obj(kept: Mapping[str, Sequence[KeptObject]]) -> dict[str, list[list[float]]]:
    """The official ``details`` payload: kept boxes (x1, y1, x2, y2, score) per class, as lists."""
    return {name: [obj.box.tolist() for obj in objs] for name, objs in kept.items()}
