"""Object detector backends for GenEval, behind one small batched interface.

``hf-mask2former`` (default): transformers ``Mask2FormerForUniversalSegmentation`` with its image processor,
checkpoint ``facebook/mask2former-swin-small-coco-instance`` (Swin-S, COCO instance; same architecture family as
the official mmdet checkpoint but different weights). Instance post-processing re-implements mmdet's
``MaskFormerFusionHead.instance_postprocess`` (top-100 (query, class) pairs of the softmax without the null class;
mask logits upsampled to the padded input, cropped to the image, resized to the original size; binary mask =
logit > 0; score = class prob x mean sigmoid inside the mask; box = tight box of the mask with the +1 convention of
mmdet's ``mask2bbox``). The input is resized like mmdet 2.x's test pipeline (shortest edge 800, longest 1333)
unless ``input_size=processor``.

``mmdet``: the official config and checkpoint through ``mmdet.apis`` (mmdet 2.x), only when mmdet is installed.

Every backend returns, per image, {GenEval class name: (boxes float32 [N, 5] = x1, y1, x2, y2, score; masks bool
[N, H, W] or None)} in GENEVAL_CLASSES order.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lensbench.errors import UserError, require_module
from lensbench.registry import Registry
from lensbench.scorers.backend import ModelBackend
from lensbench.scorers.geneval.labels import GENEVAL_CLASSES, map_labels
from lensbench.util.device import resolve_device

DEFAULT_HF_MODEL = "facebook/mask2former-swin-small-coco-instance"
MMDET_MODEL = "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco"  # evaluate_images.py default --options model
MMDET_CONFIG = f"configs/mask2former/{MMDET_MODEL}.py"  # relative to the mmdet package's parent (2.x source install)
OFFICIAL_INPUT_SIZE = {"shortest_edge": 800, "longest_edge": 1333}  # mmdet 2.x test pipeline img_scale (1333, 800)


@dataclass
class ImageDetections:
    boxes: dict[str, np.ndarray]  # class -> float32 [N, 5]
    masks: dict[str, np.ndarray | None]  # class -> bool [N, H, W] or None


class Detector(ModelBackend):
    name = "detector"

    @abstractmethod
    def detect(self, images: Sequence[Any], paths: Sequence[str | None]) -> list[ImageDetections]:
        """Detect objects in a batch of RGB PIL images (paths given for backends that read files themselves)."""


# -- pure tensor post-processing (testable without a model) -------------------------------------------------------
def mask_to_boxes(binary):
    """Tight boxes [N, 4] of bool masks [N, H, W]: (x_min, y_min, x_max + 1, y_max + 1); all zeros if empty."""
    import torch

    n, h, w = binary.shape
    boxes = torch.zeros((n, 4), dtype=torch.float32, device=binary.device)
    if n == 0:
        return boxes
    cols, rows = binary.any(dim=1), binary.any(dim=2)  # [N, W], [N, H]
    xs = torch.arange(w, device=binary.device)
    ys = torch.arange(h, device=binary.device)
    nonempty = cols.any(dim=1) & rows.any(dim=1)
    big = torch.tensor(10**9, device=binary.device)
    x1 = torch.where(cols, xs, big).min(dim=1).values
    x2 = torch.where(cols, xs, -1).max(dim=1).values + 1
    y1 = torch.where(rows, ys, big).min(dim=1).values
    y2 = torch.where(rows, ys, -1).max(dim=1).values + 1
    stacked = torch.stack([x1, y1, x2, y2], dim=1).float()
    boxes[nonempty] = stacked[nonempty]
    return boxes


def instance_postprocess(class_logits, mask_logits, padded_hw, valid_hw, orig_hw, index_to_class: Mapping[int, str],
                         *, max_per_image: int = 100, min_score: float = 0.0) -> ImageDetections:
    """mmdet-style instance results for one image from Mask2Former logits.

    class_logits [Q, C+1] (last = no object); mask_logits [Q, h, w] (Mask2Former predicts them at 1/4 of the
    padded input size padded_hw); valid_hw is the un-padded input size, orig_hw the original image size.
    Candidates whose class probability is <= min_score are dropped before the (expensive) full-size masks: their
    final score (class prob x mask score, mask score <= 1) could not pass any threshold >= min_score, so this never
    changes a decision when min_score <= the decision thresholds.
    """
    import torch
    import torch.nn.functional as F

    probs = F.softmax(class_logits.float(), dim=-1)[:, :-1]
    q, c = probs.shape
    scores, flat = probs.flatten().topk(min(max_per_image, q * c))
    labels, queries = flat % c, flat // c
    keep = torch.tensor([int(lb) in index_to_class for lb in labels.tolist()], dtype=torch.bool, device=scores.device)
    keep &= scores > min_score
    scores, labels, queries = scores[keep], labels[keep], queries[keep]
    h0, w0 = orig_hw
    boxes_out: dict[str, np.ndarray] = {}
    masks_out: dict[str, np.ndarray | None] = {}
    if scores.numel() == 0:
        return ImageDetections(boxes_out, masks_out)
    uq, inverse = torch.unique(queries, return_inverse=True)
    m = F.interpolate(mask_logits[uq][None].float(), size=tuple(padded_hw), mode="bilinear", align_corners=False)[0]
    m = m[:, : valid_hw[0], : valid_hw[1]]
    m = F.interpolate(m[None], size=(h0, w0), mode="bilinear", align_corners=False)[0]
    binary = m > 0
    mask_scores = (m.sigmoid() * binary).flatten(1).sum(1) / (binary.flatten(1).sum(1) + 1e-6)
    det_scores = scores * mask_scores[inverse]
    boxes = mask_to_boxes(binary)[inverse]
    rows = torch.cat([boxes, det_scores[:, None]], dim=1).cpu().numpy().astype(np.float32)
    binary_np = binary.cpu().numpy()
    label_list = labels.tolist()
    inv = inverse.cpu().numpy()
    for name_idx, name in enumerate(GENEVAL_CLASSES):
        sel = [i for i, lb in enumerate(label_list) if index_to_class.get(lb) == name]
        if sel:
            boxes_out[name] = rows[sel]
            masks_out[name] = binary_np[inv[sel]]
    return ImageDetections(boxes_out, masks_out)


# -- transformers Mask2Former -------------------------------------------------------------------------------------
class HFMask2FormerDetector(Detector):
    name = "hf-mask2former"

    def __init__(self, model: str = DEFAULT_HF_MODEL, *, revision: str | None = None, device: str | None = "auto",
                 input_size: str = "official", max_per_image: int = 100, min_score: float = 0.0,
                 label_map: str = "auto", backend_name: str | None = None):
        if input_size not in ("official", "processor"):
            raise UserError(f"input_size must be 'official' (mmdet 800/1333) or 'processor', got {input_size!r}")
        self.model_id, self.revision, self.device = model, revision, device
        self.input_size, self.max_per_image, self.min_score = input_size, int(max_per_image), float(min_score)
        self.label_map = label_map
        self.name = backend_name or self.name
        self._model = self._processor = self._index_to_class = None

    def settings(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_id, "revision": self.revision, "input_size": self.input_size,
                "max_per_image": self.max_per_image, "min_score": self.min_score, "label_map": self.label_map,
                "postprocess": "mmdet MaskFormerFusionHead.instance_postprocess (re-implemented)"}

    def fingerprint(self) -> dict[str, Any]:
        from lensbench.scorers.identity import with_weights

        return with_weights(self.settings(), "model", self.revision)

    def downloads(self) -> list[dict[str, Any]] | None:
        if os.path.exists(os.path.expanduser(self.model_id)):
            return []  # a local checkpoint (or the tiny build)
        return [{"repo_id": self.model_id, "revision": self.revision}]

    def load(self) -> None:
        if self._model is not None:
            return
        transformers = require_module("transformers", "the hf-mask2former detector", "pip install 'lensbench[gpu]'")
        self.device = resolve_device(self.device)
        kwargs = {"revision": self.revision} if self.revision else {}
        proc_kwargs = dict(kwargs)
        if self.input_size == "official":
            proc_kwargs["size"] = dict(OFFICIAL_INPUT_SIZE)
        try:
            self._processor = transformers.Mask2FormerImageProcessor.from_pretrained(self.model_id, **proc_kwargs)
            model = transformers.Mask2FormerForUniversalSegmentation.from_pretrained(self.model_id, **kwargs)
        except OSError as exc:
            raise UserError(
                f"cannot load the Mask2Former detector {self.model_id!r} ({str(exc).splitlines()[0]}); "
                "download it once with network access or pass -O detector_model=LOCAL_DIR"
            ) from None
        self._model = model.eval().to(self.device)
        self._index_to_class = map_labels(model.config.id2label, self.label_map)

    def detect(self, images: Sequence[Any], paths: Sequence[str | None] = ()) -> list[ImageDetections]:
        import torch

        self.load()
        if not images:
            return []
        inputs = self._processor(images=list(images), return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self.device)
        pixel_mask = inputs["pixel_mask"].to(self.device)
        with torch.inference_mode():
            out = self._model(pixel_values=pixel_values, pixel_mask=pixel_mask)
        results = []
        for b, image in enumerate(images):
            valid = pixel_mask[b].bool()
            valid_hw = (int(valid.any(dim=1).sum()), int(valid.any(dim=0).sum()))
            results.append(instance_postprocess(
                out.class_queries_logits[b], out.masks_queries_logits[b], tuple(pixel_values.shape[-2:]), valid_hw,
                (image.height, image.width),
                self._index_to_class, max_per_image=self.max_per_image, min_score=self.min_score))
        return results


# -- official mmdet ------------------------------------------------------------------------------------------------
class MMDetDetector(Detector):
    name = "mmdet"

    def __init__(self, *, config: str | None = None, model_path: str = "./", model_name: str = MMDET_MODEL,
                 device: str | None = "auto"):
        self.config, self.model_path, self.model_name, self.device = config, model_path, model_name, device
        self._model = None

    def settings(self) -> dict[str, Any]:
        return {"backend": self.name, "config": self.config or MMDET_CONFIG, "model": self.model_name,
                "checkpoint": os.path.join(self.model_path, f"{self.model_name}.pth")}

    def fingerprint(self) -> dict[str, Any]:
        from lensbench.util.identity import package_version
        from lensbench.util.files import sha256_file

        ckpt = os.path.join(self.model_path, f"{self.model_name}.pth")
        return {**self.settings(), "mmdet": package_version("mmdet"),
                "checkpoint_sha256": sha256_file(ckpt) if os.path.isfile(ckpt) else None}

    def load(self) -> None:
        if self._model is not None:
            return
        mmdet = require_module("mmdet", "the mmdet GenEval detector",
                               "install mmdetection 2.x from source (see the GenEval README), or use -O detector=hf-mask2former")
        from mmdet.apis import init_detector  # type: ignore[import-not-found]

        config = self.config or os.path.join(os.path.dirname(mmdet.__file__), "..", MMDET_CONFIG)
        ckpt = os.path.join(self.model_path, f"{self.model_name}.pth")
        for what, p in (("config", config), ("checkpoint", ckpt)):
            if not os.path.exists(p):
                raise UserError(f"mmdet {what} {p} not found; pass -O mmdet_config=... / -O mmdet_model_path=DIR "
                                "(the checkpoint from GenEval's download_models.sh)")
        self.device = resolve_device(self.device)
        self._model = init_detector(config, ckpt, device=self.device)

    def detect(self, images: Sequence[Any], paths: Sequence[str | None] = ()) -> list[ImageDetections]:
        from mmdet.apis import inference_detector  # type: ignore[import-not-found]

        self.load()
        inputs = [p if p else np.asarray(im.convert("RGB"))[:, :, ::-1].copy() for im, p in zip(images, paths or [None] * len(images))]
        raw = inference_detector(self._model, inputs)
        results = []
        for res in raw:
            bbox = res[0] if isinstance(res, tuple) else res
            segm = res[1] if isinstance(res, tuple) and len(res) > 1 else None
            boxes, masks = {}, {}
            for i, name in enumerate(GENEVAL_CLASSES):
                if len(bbox[i]):
                    boxes[name] = np.asarray(bbox[i], dtype=np.float32)
                    masks[name] = None if segm is None else np.stack([np.asarray(m, dtype=bool) for m in segm[i]])
            results.append(ImageDetections(boxes, masks))
        return results


# -- options and registry -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HFDetectorOptions:
    """``-O`` options of the hf-mask2former detector (min_score None: the scorer's exact pruning bound)."""

    detector_model: str = DEFAULT_HF_MODEL
    detector_revision: str | None = None
    device: str = "auto"
    input_size: Literal["official", "processor"] = "official"
    max_per_image: int = 100
    min_score: float | None = None
    label_map: str = "auto"


@dataclass(frozen=True)
class MMDetOptions:
    mmdet_config: str | None = None
    mmdet_model_path: str = "./"
    model: str = MMDET_MODEL
    device: str = "auto"


@dataclass(frozen=True)
class TinyDetectorOptions:
    """The tiny random detector (tests, demo): ``tiny_labels`` = the GenEval classes it "finds"."""

    tiny_labels: tuple[str, ...] = ()
    device: str = "cpu"
    max_per_image: int = 100
    min_score: float | None = None


def _hf(o: HFDetectorOptions) -> Detector:
    return HFMask2FormerDetector(o.detector_model or DEFAULT_HF_MODEL, revision=o.detector_revision, device=o.device,
                                 input_size=o.input_size, max_per_image=o.max_per_image, min_score=o.min_score or 0.0,
                                 label_map=o.label_map)


def _mmdet(o: MMDetOptions) -> Detector:
    return MMDetDetector(config=o.mmdet_config, model_path=o.mmdet_model_path, model_name=o.model, device=o.device)


def _tiny(o: TinyDetectorOptions) -> Detector:
    from lensbench.scorers.geneval.tiny import ensure_tiny_mask2former, parse_labels

    path = ensure_tiny_mask2former(parse_labels(o.tiny_labels or None))
    return HFMask2FormerDetector(str(path), device=o.device, input_size="processor", max_per_image=o.max_per_image,
                                 min_score=o.min_score or 0.0, backend_name="tiny")


@dataclass(frozen=True)
class DetectorBackend:
    """A registered detector: its options dataclass and the function that builds it from them."""

    Options: type
    build: Any


DETECTORS: Registry = Registry("GenEval detector backend")
DETECTORS.register("hf-mask2former", DetectorBackend(HFDetectorOptions, _hf), aliases=("mask2former", "hf"))
DETECTORS.register("mmdet", DetectorBackend(MMDetOptions, _mmdet))
DETECTORS.register("tiny", DetectorBackend(TinyDetectorOptions, _tiny))


def detector_options_class(name: str) -> type:
    return DETECTORS.get(name).Options


def make_detector(name: str, options: Mapping[str, Any] | Any = None) -> Detector:
    """Build a detector from raw ``-O`` pairs (checked against its options) or from its options dataclass."""
    backend = DETECTORS.get(name)
    if not isinstance(options, backend.Options):
        from lensbench.scorers.base import parse_one

        options = parse_one(backend.Options, dict(options or {}), what=f"GenEval detector {DETECTORS.canonical(name)}")
    return backend.build(options)
