"""OneIG model backends behind five small interfaces (tiles are PIL RGB images, already split and, by default,
JPEG round-tripped exactly as the official scripts feed them to the models).

- `Vqa.answer(tiles, question) -> [answer per tile]`            alignment (official: Qwen2.5-VL-7B-Instruct)
- `Ocr.read(tiles, max_new_tokens) -> [text per tile]`          text      (official: Qwen2.5-VL-7B-Instruct)
- `TextImage.similarities(tiles, text) -> [cos per tile] | None` reasoning (official: LLM2CLIP)
- `StyleEmbed.embed(tile) -> (csd [D1], se [D2])`               style     (official: CSD ViT-L + OneIG-StyleEncoder)
- `Distance.distance(tile_a, tile_b) -> float`                 diversity (official: DreamSim ensemble)

Every backend has `describe()` (model ids, revisions, prompts: part of the scorer fingerprint) and `load()`.
The tiny backends are deterministic functions of the pixels (no weights) for tests; they are never official.
Registries map names to lazy ``"module:Class"`` targets, so importing this module imports no model library.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from lensbench.registry import Registry


class Backend(ABC):
    name = "backend"
    official = False
    #: the judge model id for VLM judges (recorded in the coverage block)
    judge: str | None = None

    def __init__(self, options: Any = None):
        self.options = options

    def load(self) -> None:
        """Load the model (idempotent)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Everything that changes the outputs (model id, revision, dtype, prompt, decoding)."""


class Vqa(Backend):
    @abstractmethod
    def answer(self, tiles: Sequence[Any], question: str) -> list[str]: ...


class Ocr(Backend):
    @abstractmethod
    def read(self, tiles: Sequence[Any], max_new_tokens: int) -> list[str]: ...


class TextImage(Backend):
    @abstractmethod
    def similarities(self, tiles: Sequence[Any], text: str) -> list[float] | None: ...


class StyleEmbed(Backend):
    @abstractmethod
    def embed(self, tile: Any) -> tuple[Any, Any]:
        """(CSD embedding [D_csd], StyleEncoder embedding [D_se]) as float tensors, L2-normalised."""


class Distance(Backend):
    @abstractmethod
    def distance(self, a: Any, b: Any) -> float: ...


# -- tiny deterministic backends (tests; never official) ------------------------------------------------
def _features(tile, size: int = 8):
    """A tile's 8x8 RGB thumbnail as a flat float vector in [0, 1] (numpy)."""
    import numpy as np

    return np.asarray(tile.convert("RGB").resize((size, size)), dtype=np.float64).reshape(-1) / 255.0


def _text_vector(text: str, dim: int):
    import numpy as np

    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim)


class TinyVqa(Vqa):
    """'Yes' when a hash of (thumbnail bytes, question) is not divisible by 3, else 'No'."""

    name = "tiny"

    def describe(self) -> dict[str, Any]:
        return {"backend": "tiny-vqa", "rule": "sha256(thumbnail, question) % 3 != 0 -> 'Yes'"}

    def answer(self, tiles, question):
        out = []
        for t in tiles:
            h = hashlib.sha256(t.convert("RGB").resize((8, 8)).tobytes() + question.encode("utf-8")).digest()
            out.append("Yes" if h[0] % 3 else "No")
        return out


class TinyOcr(Ocr):
    """Reads a few fixed words chosen by the tile's brightness ('No text recognized.' for dark tiles)."""

    name = "tiny"
    WORDS = ("The", "Impact", "of", "5G", "Technology", "Sale", "心理", "健康")

    def describe(self) -> dict[str, Any]:
        return {"backend": "tiny-ocr", "words": list(self.WORDS)}

    def read(self, tiles, max_new_tokens):
        out = []
        for t in tiles:
            f = _features(t)
            level = int(f.mean() * 1000)
            if level < 40:
                out.append("No text recognized.")
                continue
            n = 1 + level % 4
            out.append(" ".join(self.WORDS[(level + k) % len(self.WORDS)] for k in range(n)))
        return out


class TinyTextImage(TextImage):
    """Cosine between a fixed random projection of the thumbnail and a text-seeded random vector."""

    name = "tiny"
    DIM = 64

    def describe(self) -> dict[str, Any]:
        return {"backend": "tiny-text-image", "dim": self.DIM}

    def similarities(self, tiles, text):
        import numpy as np

        proj = np.random.default_rng(7).standard_normal((self.DIM, 192))
        t = _text_vector(text, self.DIM)
        t /= np.linalg.norm(t)
        out = []
        for tile in tiles:
            v = proj @ (_features(tile) - 0.5)
            out.append(float(v @ t / (np.linalg.norm(v) or 1.0)))
        return out


class TinyStyle(StyleEmbed):
    """Fixed random projections of the thumbnail to the reference dimensions (CSD 768, SE 1280), normalised."""

    name = "tiny"
    CSD_DIM, SE_DIM = 768, 1280

    def describe(self) -> dict[str, Any]:
        return {"backend": "tiny-style", "dims": [self.CSD_DIM, self.SE_DIM]}

    def embed(self, tile):
        import numpy as np
        import torch

        f = _features(tile) - 0.5
        out = []
        for seed, dim in ((11, self.CSD_DIM), (13, self.SE_DIM)):
            v = np.random.default_rng(seed).standard_normal((dim, f.size)) @ f
            out.append(torch.tensor(v / (np.linalg.norm(v) or 1.0), dtype=torch.float32))
        return out[0], out[1]


class TinyDistance(Distance):
    """Mean absolute thumbnail difference (in [0, 1])."""

    name = "tiny"

    def describe(self) -> dict[str, Any]:
        return {"backend": "tiny-distance", "rule": "mean |thumb_a - thumb_b|"}

    def distance(self, a, b):
        import numpy as np

        return float(np.abs(_features(a) - _features(b)).mean())


VQA: Registry = Registry("OneIG VQA backend")
OCR: Registry = Registry("OneIG OCR backend")
TEXT_IMAGE: Registry = Registry("OneIG reasoning backend")
STYLE: Registry = Registry("OneIG style backend")
DISTANCE: Registry = Registry("OneIG diversity backend")

_HF = "lensbench.scorers.oneig.backends_hf"
VQA.register("tiny", TinyVqa)
VQA.register("qwen", f"{_HF}:QwenVqa", aliases=("qwen2.5-vl", "official"))
VQA.register("openai", "lensbench.scorers.oneig.backends_api:ApiVqa", aliases=("vlm", "judge"))
OCR.register("tiny", TinyOcr)
OCR.register("qwen", f"{_HF}:QwenOcr", aliases=("qwen2.5-vl", "official"))
OCR.register("openai", "lensbench.scorers.oneig.backends_api:ApiOcr", aliases=("vlm", "judge"))
OCR.register("rapidocr", "lensbench.scorers.oneig.backends_api:RapidOcr", aliases=("rapid",))
TEXT_IMAGE.register("tiny", TinyTextImage)
TEXT_IMAGE.register("llm2clip", f"{_HF}:Llm2Clip", aliases=("official",))
STYLE.register("tiny", TinyStyle)
STYLE.register("csd+se", f"{_HF}:CsdSeStyle", aliases=("official",))
DISTANCE.register("tiny", TinyDistance)
DISTANCE.register("dreamsim", f"{_HF}:DreamSimDistance", aliases=("official",))

#: ``-O backend=`` presets: one name per dimension's registry
PRESETS = {
    "official": {"vqa": "qwen", "ocr": "qwen", "reasoning_model": "llm2clip", "style_model": "csd+se",
                 "diversity_model": "dreamsim"},
    "tiny": {"vqa": "tiny", "ocr": "tiny", "reasoning_model": "tiny", "style_model": "tiny",
             "diversity_model": "tiny"},
}
OFFICIAL_NAMES = {"vqa": "qwen", "ocr": "qwen", "reasoning_model": "llm2clip", "style_model": "csd+se",
                  "diversity_model": "dreamsim"}
REGISTRY_OF = {"vqa": VQA, "ocr": OCR, "reasoning_model": TEXT_IMAGE, "style_model": STYLE,
               "diversity_model": DISTANCE}


def make(kind: str, name: str, options: Any) -> Backend:
    entry = REGISTRY_OF[kind].get(name)
    return entry(options)
