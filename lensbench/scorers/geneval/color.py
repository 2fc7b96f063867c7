"""GenEval's colour classifier: zero-shot CLIP over the 10 colours on a masked, cropped object, batched.

Official recipe (evaluate_images.py + clip-benchmark 1.4.0 ``zero_shot_classifier``/``run_classification``;
shared/reference/benchmarks.md section 1.9): object pixels composited over a #999 canvas with the instance mask,
cropped to the box (PIL crop, which rounds the float box), open_clip ViT-L-14 ``openai`` eval transform; per object
class a head from 3 templates ("a photo of a {c} {obj}", "a photo of a {c}-colored {obj}", "a photo of a {c}
object"; always article "a"), each template embedding L2-normalised, averaged, re-normalised; logits =
100 * normalised image embedding . head; prediction = argmax; fp16 autocast on CUDA.

Batched: all crops of a whole scoring batch (many images, many objects) go through the image tower together.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lensbench.errors import UserError, require_module
from lensbench.registry import Registry
from lensbench.scorers.backend import ModelBackend
from lensbench.scorers.geneval.decision import COLORS, KeptObject

#: where open_clip (2.x pretrained.py) fetches ViT-L-14 "openai" from
OPENAI_CLIP_HUB = {"repo_id": "timm/vit_large_patch14_clip_224.openai", "revision": None}
TEMPLATES: tuple[str, ...] = ("a photo of a {c} {obj}", "a photo of a {c}-colored {obj}", "a photo of a {c} object")


@dataclass(frozen=True)
class ColorRequest:
    image: Any  # RGB PIL image
    classname: str
    objects: tuple[KeptObject, ...]


def object_crop(image, obj: KeptObject, bgcolor: str = "#999", crop: bool = True):
    """The image the classifier sees for one object: mask composite over `bgcolor` (or the image itself when
    bgcolor == "original" or there is no mask), then the box crop."""
    from PIL import Image

    img = image.convert("RGB")
    if obj.mask is not None:
        mask = np.asarray(obj.mask, dtype=bool)
        if mask.shape != (img.height, img.width):
            raise ValueError(f"mask shape {mask.shape} does not match image size {(img.height, img.width)}")
        blank = img if bgcolor == "original" else Image.new("RGB", img.size, color=bgcolor)
        img = Image.composite(img, blank, Image.fromarray(mask))
    if crop:
        box = [float(v) for v in obj.box[:4]]
        img = img.crop(box)
        if img.width == 0 or img.height == 0:  # the official would fail here; give the classifier one pixel
            x, y = min(max(int(round(box[0])), 0), image.width - 1), min(max(int(round(box[1])), 0), image.height - 1)
            img = image.convert("RGB").crop((x, y, x + 1, y + 1))
    return img


class ColorClassifier(ModelBackend):
    name = "color"

    @abstractmethod
    def classify(self, requests: Sequence[ColorRequest]) -> list[list[str]]:
        """One colour name per object of every request, all requests in one batched pass."""


class ClipColorClassifier(ColorClassifier):
    name = "open_clip"

    def __init__(self, arch: str = "ViT-L-14", pretrained: str = "openai", *, device: str | None = "auto",
                 colors: Sequence[str] = COLORS, templates: Sequence[str] = TEMPLATES, bgcolor: str = "#999",
                 crop: bool = True, batch_size: int = 16, amp: bool = True, backend_name: str | None = None):
        self.arch, self.pretrained, self.device = arch, pretrained, device
        self.colors, self.templates = tuple(colors), tuple(templates)
        self.bgcolor, self.crop, self.batch_size, self.amp = bgcolor, bool(crop), int(batch_size), bool(amp)
        self.name = backend_name or self.name
        self._model = self._transform = self._tokenizer = None
        self._heads: dict[str, Any] = {}

    def settings(self) -> dict[str, Any]:
        return {"backend": self.name, "arch": self.arch, "pretrained": self.pretrained, "colors": list(self.colors),
                "templates": list(self.templates), "bgcolor": self.bgcolor, "crop": self.crop,
                "batch_size": self.batch_size, "amp": self.amp}

    def downloads(self) -> list[dict[str, Any]] | None:
        if self.name == "tiny":
            return []
        return [dict(OPENAI_CLIP_HUB)] if (self.arch, self.pretrained) == ("ViT-L-14", "openai") else None

    def fingerprint(self) -> dict[str, Any]:
        """Everything but the batch size (crops are classified independently), plus the weights' identity."""
        from lensbench.scorers.identity import with_weights
        from lensbench.util.identity import package_version

        fp = {k: v for k, v in self.settings().items() if k != "batch_size"}
        if "/" in self.pretrained or self.pretrained.endswith((".pt", ".pth", ".bin", ".safetensors")):
            fp = with_weights(fp, "pretrained")  # a checkpoint file (e.g. the tiny CLIP)
        if fp.get("weights", {}).get("kind") != "local":  # an open_clip pretrained tag ("openai"): pinned by open_clip
            fp["weights"] = {"kind": "open_clip", "arch": self.arch, "pretrained": self.pretrained,
                             "open_clip": package_version("open_clip_torch")}
        return fp

    def load(self) -> None:
        if self._model is not None:
            return
        open_clip = require_module("open_clip", "the GenEval colour classifier", "pip install open-clip-torch")
        from lensbench.util.device import resolve_device

        self.device = resolve_device(self.device)
        try:
            model, _, transform = open_clip.create_model_and_transforms(self.arch, pretrained=self.pretrained, device=self.device)
        except (RuntimeError, OSError) as exc:
            raise UserError(f"cannot load CLIP {self.arch} ({self.pretrained}): {str(exc).splitlines()[0]}; "
                            "download it once with network access or pass -O clip_pretrained=LOCAL_FILE") from None
        self._model, self._transform = model.eval(), transform
        self._tokenizer = open_clip.get_tokenizer(self.arch)

    def _autocast(self):
        import contextlib

        import torch

        if self.amp and str(self.device).startswith("cuda"):
            return torch.autocast("cuda")
        return contextlib.nullcontext()

    def head(self, classname: str):
        """[D, n_colours] zero-shot head for one object class (cached)."""
        import torch
        import torch.nn.functional as F

        if classname not in self._heads:
            self.load()
            texts = [t.format(c=c, obj=classname) for c in self.colors for t in self.templates]
            with torch.no_grad(), self._autocast():
                emb = self._model.encode_text(self._tokenizer(texts).to(self.device))
                emb = F.normalize(emb, dim=-1).reshape(len(self.colors), len(self.templates), -1).mean(dim=1)
                emb = emb / emb.norm(dim=-1, keepdim=True)
            self._heads[classname] = emb.T
        return self._heads[classname]

    def classify(self, requests: Sequence[ColorRequest]) -> list[list[str]]:
        import torch
        import torch.nn.functional as F

        self.load()
        crops, owners = [], []
        for r, req in enumerate(requests):
            for obj in req.objects:
                crops.append(self._transform(object_crop(req.image, obj, self.bgcolor, self.crop)))
                owners.append(r)
        preds: list[int] = []
        for start in range(0, len(crops), self.batch_size):
            chunk = torch.stack(crops[start:start + self.batch_size]).to(self.device)
            reqs = owners[start:start + self.batch_size]
            with torch.no_grad(), self._autocast():
                feats = F.normalize(self._model.encode_image(chunk), dim=-1)
                heads = torch.stack([self.head(requests[r].classname) for r in reqs])  # [B, D, n_colours]
                logits = 100.0 * torch.einsum("bd,bdk->bk", feats, heads.to(feats.dtype))
            preds.extend(logits.argmax(dim=1).tolist())
        out: list[list[str]] = [[] for _ in requests]
        for r, p in zip(owners, preds):
            out[r].append(self.colors[p])
        return out


@dataclass(frozen=True)
class ClipColorOptions:
    """``-O`` options of the open_clip colour classifier (``clip=tiny``: the tiny local CLIP of the tests)."""

    clip: str | None = None
    clip_model: str = "ViT-L-14"
    clip_pretrained: str = "openai"
    device: str = "auto"
    bgcolor: str = "#999"
    crop: bool = True
    color_batch_size: int = 16
    amp: bool = True
    colors: tuple[str, ...] = COLORS

    def __post_init__(self) -> None:
        if self.clip not in (None, "tiny"):
            raise UserError(f"option clip={self.clip!r} of the GenEval colour classifier: only 'tiny' (the tiny local "
                            "CLIP) is known; choose the model with -O clip_model=... -O clip_pretrained=...")
        if self.color_batch_size < 1:
            raise UserError(f"option color_batch_size must be at least 1, got {self.color_batch_size}")


def _open_clip(o: ClipColorOptions) -> ColorClassifier:
    arch, pretrained, name = o.clip_model or "ViT-L-14", o.clip_pretrained or "openai", None
    if o.clip == "tiny":
        from lensbench.scorers.geneval.tiny import ensure_tiny_open_clip

        arch, path = ensure_tiny_open_clip()
        pretrained, name = str(path), "tiny"
    return ClipColorClassifier(arch, pretrained, device=o.device, bgcolor=o.bgcolor, crop=o.crop,
                               batch_size=o.color_batch_size, amp=o.amp, backend_name=name, colors=o.colors or COLORS)


@dataclass(frozen=True)
class ColorBackend:
    Options: type
    build: Any


COLOR_CLASSIFIERS: Registry = Registry("GenEval colour classifier")
COLOR_CLASSIFIERS.register("open_clip", ColorBackend(ClipColorOptions, _open_clip), aliases=("clip",))


def make_color_classifier(options: Mapping[str, Any] | None = None, *, backend: str = "open_clip") -> ColorClassifier:
    """Build a colour classifier from raw ``-O`` pairs (checked against its options) or its options dataclass."""
    entry = COLOR_CLASSIFIERS.get(backend)
    if not isinstance(options, entry.Options):
        from lensbench.scorers.base import parse_one

        options = parse_one(entry.Options, dict(options or {}), what=f"GenEval colour classifier {backend}")
    return entry.build(options)
