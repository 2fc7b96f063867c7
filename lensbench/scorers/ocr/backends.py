"""OCR backends behind one small interface: RGB images in, recognised text lines out.

``rapidocr`` (default) runs PP-OCRv4 detection + recognition through onnxruntime; its weights ship inside the
``rapidocr-onnxruntime`` wheel, so it works offline (CPU, or CUDA with ``onnxruntime-gpu``). ``paddleocr`` (the
engine CVTG-2K's official script uses) and ``easyocr`` are used when installed. Import of this module is cheap:
each backend imports its package in `load()`.

Batching (rapidocr): ``batch_mode="cross_image"`` (default) detects text per image (image sizes differ), then
classifies and recognises the text-line crops of *all* images of a batch together. rapidocr's own recogniser pads
every crop of a batch to the widest crop, so a crop's result could depend on which other crops share its batch;
here each crop is padded to its own width bucket (a multiple of ``rec_width_step`` pixels at height 48) and only
crops of one bucket are batched, so an image reads the same whatever else is in the batch. ``"per_image"`` calls
``RapidOCR()(image)`` once per image exactly as its API does. The two modes can differ on rare crops; the mode
is part of `settings()` and therefore of the OCR cache key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lensbench.errors import UserError, require_module
from lensbench.options import settings_dict
from lensbench.registry import Registry
from lensbench.util.files import sha256_file


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    box: tuple[tuple[float, float], ...] = ()

    def to_list(self) -> list:
        return [self.text, round(float(self.score), 6), [list(p) for p in self.box]]

    @classmethod
    def from_list(cls, data: Sequence) -> "OcrLine":
        box = tuple(tuple(float(v) for v in p) for p in (data[2] if len(data) > 2 else ()))
        return cls(text=str(data[0]), score=float(data[1]), box=box)


@dataclass(frozen=True)
class RapidOcrOptions:
    device: str = "cpu"
    threads: int = -1
    min_score: float = 0.5  # rapidocr Global.text_score
    batch_mode: str = "cross_image"
    rec_batch_num: int = 6  # rapidocr default 6
    rec_width_step: int = 80  # cross_image: pad crops to multiples of this
    det_limit_side_len: int = 736  # rapidocr default (limit_type "min")
    box_thresh: float = 0.5
    unclip_ratio: float = 1.6
    use_cls: bool = True

    def __post_init__(self) -> None:
        _check_device(self.device)
        if self.batch_mode not in ("cross_image", "per_image"):
            raise UserError(f"OCR option batch_mode={self.batch_mode!r} must be cross_image or per_image")
        if self.rec_batch_num < 1 or self.rec_width_step < 1:
            raise UserError("OCR options rec_batch_num and rec_width_step must be at least 1")


@dataclass(frozen=True)
class PaddleOcrOptions:
    device: str = "cpu"
    lang: str = "en"
    min_score: float = 0.0

    def __post_init__(self) -> None:
        _check_device(self.device)


@dataclass(frozen=True)
class EasyOcrOptions:
    device: str = "cpu"
    langs: tuple[str, ...] = ("ch_sim", "en")
    min_score: float = 0.0

    def __post_init__(self) -> None:
        _check_device(self.device)


def _check_device(device: str) -> None:
    if device not in ("cpu", "cuda"):
        raise UserError(f"OCR option device={device!r} must be cpu or cuda")


class OcrBackend(ABC):
    name: str = "ocr"
    #: the options dataclass (None: a backend without declared options keeps the given dict, e.g. test doubles)
    Options: ClassVar[type | None] = None

    def __init__(self, options: Mapping[str, Any] | Any = None):
        if self.Options is None:
            self.opts, self.options = None, dict(options or {})
            return
        if not isinstance(options, self.Options):
            from lensbench.scorers.base import parse_one

            options = parse_one(self.Options, dict(options or {}), what=f"OCR backend {self.name}")
        self.opts = options
        self.options = settings_dict(options)

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Everything that can change the recognised text (model files, thresholds, device, batching)."""

    def load(self) -> None:
        """Load the models (called once before the first `read_batch`)."""

    @abstractmethod
    def read_batch(self, images: Sequence[Any]) -> list[list[OcrLine]]:
        """OCR each image (RGB uint8 numpy arrays, H×W×3); lines in reading order."""


# -- rapidocr --------------------------------------------------------------------------------------
class RapidOcrBackend(OcrBackend):
    """PP-OCRv4 (det + cls + rec ONNX models inside the rapidocr-onnxruntime wheel)."""

    name = "rapidocr"
    INSTALL = "pip install rapidocr-onnxruntime (GPU: also pip install onnxruntime-gpu)"
    Options = RapidOcrOptions

    def __init__(self, options: Mapping[str, Any] | Any = None):
        super().__init__(options)
        o = self.opts
        self.device, self.threads, self.min_score, self.batch_mode = o.device, o.threads, o.min_score, o.batch_mode
        self.rec_batch_num, self.rec_width_step = o.rec_batch_num, o.rec_width_step
        self.det_limit_side_len, self.box_thresh, self.unclip_ratio = o.det_limit_side_len, o.box_thresh, o.unclip_ratio
        self.use_cls = o.use_cls
        self._engine = None
        self._model_hashes: dict[str, str] | None = None

    def _model_files(self) -> dict[str, Path]:
        pkg = require_module("rapidocr_onnxruntime", "the rapidocr OCR backend", self.INSTALL)
        root = Path(pkg.__file__).resolve().parent
        from rapidocr_onnxruntime.utils import read_yaml  # noqa: PLC0415

        cfg = read_yaml(str(root / "config.yaml"))
        return {part: root / cfg[part]["model_path"] for part in ("Det", "Cls", "Rec")}

    def settings(self) -> dict[str, Any]:
        if self._model_hashes is None:
            self._model_hashes = {k: f"{p.name}:{sha256_file(p)[:16]}" for k, p in self._model_files().items()}
        from importlib.metadata import version  # noqa: PLC0415

        return {
            "backend": self.name,
            "package": f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')}",
            "onnxruntime": version("onnxruntime") if _has_dist("onnxruntime") else version("onnxruntime-gpu"),
            "models": dict(self._model_hashes),
            "device": self.device,
            "min_score": self.min_score,
            "batch_mode": self.batch_mode,
            "rec_batch_num": self.rec_batch_num,
            "rec_width_step": self.rec_width_step if self.batch_mode == "cross_image" else None,
            "det_limit_side_len": self.det_limit_side_len,
            "box_thresh": self.box_thresh,
            "unclip_ratio": self.unclip_ratio,
            "use_cls": self.use_cls,
        }

    def load(self) -> None:
        if self._engine is not None:
            return
        require_module("rapidocr_onnxruntime", "the rapidocr OCR backend", self.INSTALL)
        if self.device == "cuda":
            import onnxruntime  # noqa: PLC0415

            if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                raise UserError("OCR device=cuda needs onnxruntime-gpu with CUDA; pip install onnxruntime-gpu, "
                                "or use -O device=cpu")
        from rapidocr_onnxruntime import RapidOCR  # noqa: PLC0415

        cuda = self.device == "cuda"
        self._engine = RapidOCR(
            text_score=self.min_score, use_cls=self.use_cls, intra_op_num_threads=self.threads,
            det_use_cuda=cuda, cls_use_cuda=cuda, rec_use_cuda=cuda, det_limit_side_len=self.det_limit_side_len,
            det_box_thresh=self.box_thresh, det_unclip_ratio=self.unclip_ratio, rec_batch_num=self.rec_batch_num,
        )

    def read_batch(self, images: Sequence[Any]) -> list[list[OcrLine]]:
        self.load()
        bgr = [_to_bgr(im) for im in images]
        eng = self._engine
        if self.batch_mode == "per_image" or not _supports_cross_image(eng):
            return [self._read_one(im) for im in bgr]
        crops, owners, boxes = [], [], []
        for i, im in enumerate(bgr):
            c, b = self._detect(im)
            crops += c
            boxes += b
            owners += [i] * len(c)
        out: list[list[OcrLine]] = [[] for _ in bgr]
        if not crops:
            return out
        if self.use_cls:
            crops, _, _ = eng.text_cls(crops)  # fixed 3x48x192 input: independent of batch composition
        rec = self._recognize_bucketed(crops)
        for owner, box, res in zip(owners, boxes, rec):
            text, score = res[0], float(res[1])
            if score >= self.min_score:
                out[owner].append(OcrLine(text=text, score=score, box=_box(box)))
        return out

    def _detect(self, bgr):
        """rapidocr's own steps up to the crops (RapidOCR.__call__ in rapidocr-onnxruntime 1.4)."""
        eng = self._engine
        raw_h, raw_w = bgr.shape[:2]
        img, ratio_h, ratio_w = eng.preprocess(bgr)
        record = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
        img, record = eng.maybe_add_letterbox(img, record)
        boxes, _ = eng.auto_text_det(img)
        if boxes is None:
            return [], []
        crops = eng.get_crop_img_list(img, boxes)
        return crops, list(eng._get_origin_points(boxes, record, raw_h, raw_w))

    def _recognize_bucketed(self, crops) -> list[tuple[str, float]]:
        """Recognise crops in batches of equal padded width (see module docstring)."""
        import math  # noqa: PLC0415

        import numpy as np  # noqa: PLC0415

        rec = self._engine.text_rec
        _, img_h, img_w = rec.rec_image_shape[:3]
        buckets: dict[int, list[int]] = {}
        for i, crop in enumerate(crops):
            h, w = crop.shape[:2]
            width = max(img_w, math.ceil(img_h * w / max(h, 1)))
            width = math.ceil(width / self.rec_width_step) * self.rec_width_step
            buckets.setdefault(width, []).append(i)
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for width in sorted(buckets):
            idx = buckets[width]
            ratio = width / img_h
            for start in range(0, len(idx), self.rec_batch_num):
                part = idx[start:start + self.rec_batch_num]
                batch = np.stack([rec.resize_norm_img(crops[i], ratio) for i in part]).astype(np.float32)
                preds = rec.session(batch)[0]
                for i, res in zip(part, rec.postprocess_op(preds, False)):
                    out[i] = (res[0], float(res[1]))
        return out

    def _read_one(self, bgr) -> list[OcrLine]:
        result, _ = self._engine(bgr, use_cls=self.use_cls)
        return [OcrLine(text=r[1], score=float(r[2]), box=_box(r[0])) for r in (result or [])]


def _supports_cross_image(engine) -> bool:
    """The rapidocr internals the cross-image path uses exist (rapidocr-onnxruntime 1.4.x)."""
    steps = ("preprocess", "maybe_add_letterbox", "auto_text_det", "get_crop_img_list", "_get_origin_points",
             "text_cls", "text_rec")
    rec = getattr(engine, "text_rec", None)
    return all(hasattr(engine, a) for a in steps) and all(
        hasattr(rec, a) for a in ("resize_norm_img", "session", "postprocess_op", "rec_image_shape"))


def _has_dist(name: str) -> bool:
    from lensbench.util.identity import package_version  # noqa: PLC0415

    return package_version(name) is not None


def _to_bgr(image):
    import numpy as np  # noqa: PLC0415

    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return np.ascontiguousarray(arr[:, :, :3][:, :, ::-1])


def _box(points) -> tuple[tuple[float, float], ...]:
    return tuple((float(p[0]), float(p[1])) for p in points)


# -- optional engines (used when installed) ---------------------------------------------------------
class PaddleOcrBackend(OcrBackend):
    """PaddleOCR (the engine of CVTG-2K's official script: ``PaddleOCR(use_angle_cls=True, lang="en")``)."""

    name = "paddleocr"
    Options = PaddleOcrOptions

    def __init__(self, options: Mapping[str, Any] | Any = None):
        super().__init__(options)
        self.lang, self.device, self.min_score = self.opts.lang, self.opts.device, self.opts.min_score
        self._engine = None

    def settings(self) -> dict[str, Any]:
        from importlib.metadata import version  # noqa: PLC0415

        pkg = version("paddleocr") if _has_dist("paddleocr") else None
        return {"backend": self.name, "package": f"paddleocr {pkg}", "lang": self.lang, "device": self.device,
                "min_score": self.min_score, "use_angle_cls": True}

    def load(self) -> None:
        if self._engine is None:
            mod = require_module("paddleocr", "the paddleocr OCR backend", "pip install paddlepaddle paddleocr")
            self._engine = mod.PaddleOCR(use_angle_cls=True, lang=self.lang, use_gpu=self.device == "cuda",
                                         show_log=False)

    def read_batch(self, images: Sequence[Any]) -> list[list[OcrLine]]:
        self.load()
        out = []
        for im in images:
            result = self._engine.ocr(_to_bgr(im), cls=True) or []
            lines = []
            for page in result:
                for box, (text, score) in page or []:
                    if float(score) >= self.min_score:
                        lines.append(OcrLine(text=str(text), score=float(score), box=_box(box)))
            out.append(lines)
        return out


class EasyOcrBackend(OcrBackend):
    name = "easyocr"
    Options = EasyOcrOptions

    def __init__(self, options: Mapping[str, Any] | Any = None):
        super().__init__(options)
        self.langs = [x.strip() for x in self.opts.langs if x.strip()]
        self.device, self.min_score = self.opts.device, self.opts.min_score
        self._engine = None

    def settings(self) -> dict[str, Any]:
        from importlib.metadata import version  # noqa: PLC0415

        pkg = version("easyocr") if _has_dist("easyocr") else None
        return {"backend": self.name, "package": f"easyocr {pkg}", "langs": self.langs, "device": self.device,
                "min_score": self.min_score}

    def load(self) -> None:
        if self._engine is None:
            mod = require_module("easyocr", "the easyocr OCR backend", "pip install easyocr")
            self._engine = mod.Reader(self.langs, gpu=self.device == "cuda")

    def read_batch(self, images: Sequence[Any]) -> list[list[OcrLine]]:
        self.load()
        out = []
        for im in images:
            res = self._engine.readtext(im)
            out.append([OcrLine(text=str(t), score=float(s), box=_box(b)) for b, t, s in res if float(s) >= self.min_score])
        return out


OCR_BACKENDS: Registry = Registry("OCR backend")
OCR_BACKENDS.register("rapidocr", RapidOcrBackend, aliases=("rapid", "pp-ocrv4"))
OCR_BACKENDS.register("paddleocr", PaddleOcrBackend, aliases=("paddle",))
OCR_BACKENDS.register("easyocr", EasyOcrBackend)


def make_backend(name: str, options: Mapping[str, Any] | Any = None) -> OcrBackend:
    """Build a backend by registry name from raw options (checked: unknown keys and bad types raise a one-line
    UserError) or from its options dataclass."""
    cls = OCR_BACKENDS.get(name)
    return cls(options if isinstance(options, cls.Options) else dict(options or {}))
