"""GenEval's 80 object names and the mapping from detector label names to them.

GENEVAL_CLASSES (suite data, `lensbench.suites.geneval_objects`) is GenEval's ``object_names.txt`` (djghosh13/geneval @ af4902f): the COCO-80 thing classes in
detector class-index order, with three COCO labels renamed (mouse -> computer mouse, remote -> tv remote,
keyboard -> computer keyboard). Detectors name their labels in several COCO spellings (mmdet/detectron2 use
"tv", "couch", "motorcycle"; the 2014 VOC-style lists use "tvmonitor", "sofa", "motorbike"), so labels are
matched by normalised name through ALIASES; a checkpoint whose labels are generic ("LABEL_0", ...) maps by index.
"""

from __future__ import annotations

from collections.abc import Mapping

from lensbench.errors import UserError
from lensbench.suites.geneval_objects import GENEVAL_CLASSES


#: detector label spellings (normalised: lower case, "_"/"-" -> " ") -> GenEval name
ALIASES: dict[str, str] = {
    "mouse": "computer mouse",
    "remote": "tv remote",
    "keyboard": "computer keyboard",
    "tvmonitor": "tv",
    "tv monitor": "tv",
    "television": "tv",
    "sofa": "couch",
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "hair dryer": "hair drier",
    "cellphone": "cell phone",
    "mobile phone": "cell phone",
    "doughnut": "donut",
    "ball": "sports ball",
    "wineglass": "wine glass",
    "teddybear": "teddy bear",
}


def normalise(label: str) -> str:
    return " ".join(str(label).lower().replace("_", " ").replace("-", " ").split())


def map_labels(id2label: Mapping[int, str], mode: str = "auto") -> dict[int, str]:
    """Detector class index -> GenEval class name, for the detector's thing classes that GenEval uses.

    mode "name": by (aliased) label name; "index": class i is GENEVAL_CLASSES[i] (80 classes needed);
    "auto": by name, unless the labels are generic ("LABEL_i"), then by index. Every GenEval class must be covered.
    """
    labels = {int(k): str(v) for k, v in id2label.items()}
    if mode not in ("auto", "name", "index"):
        raise UserError(f"label_map must be auto, name or index, got {mode!r}")
    generic = all(normalise(v) == f"label {k}" for k, v in labels.items())
    if mode == "index" or (mode == "auto" and generic):
        if len(labels) < len(GENEVAL_CLASSES):
            raise UserError(f"the detector has {len(labels)} classes, GenEval needs the 80 COCO classes; use a COCO detector")
        return {i: GENEVAL_CLASSES[i] for i in range(len(GENEVAL_CLASSES))}
    known = set(GENEVAL_CLASSES)
    out: dict[int, str] = {}
    for idx, label in labels.items():
        name = normalise(label)
        name = ALIASES.get(name, name)
        if name in known:
            out[idx] = name
    missing = [c for c in GENEVAL_CLASSES if c not in set(out.values())]
    if missing:
        raise UserError(
            f"the detector's labels do not cover GenEval classes {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; "
            "use a COCO instance-segmentation checkpoint or -O label_map=index"
        )
    return out
