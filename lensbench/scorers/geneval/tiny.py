"""Tiny random-weight GenEval models built locally (no download), for tests, benchmarks and the demo.

- `build_tiny_mask2former(out_dir, labels)`: a real ``Mask2FormerForUniversalSegmentation`` (tiny Swin backbone,
  20 queries, COCO-80 labels) plus its ``Mask2FormerImageProcessor``, written with ``save_pretrained`` so it loads
  back through the same ``from_pretrained`` path as the real checkpoint. Random weights would never pass GenEval's
  0.3 threshold, so the class head is set to pick one of `labels` per query with high confidence and the mask head
  is sharpened: the tiny detector then "finds" those classes (where it finds them is noise).
- `build_tiny_open_clip(out_dir)`: a 3.6 M-parameter open_clip model (shared/reference/environment.md section 3.3
  recipe: embed_dim 64, 2-layer ViT-32 at 224 px, 2-layer text tower, SimpleTokenizer vocab 49408), saved as a
  state dict and loaded back with ``open_clip.create_model_and_transforms(name, pretrained=<file>)``.

Both are cached under ``${LENSBENCH_CACHE:-~/.cache/lensbench}/tiny/`` and built atomically (temp dir + rename).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from lensbench.errors import UserError
from lensbench.util.files import build_dir_atomic
from lensbench.util.files import cache_root as lensbench_cache_root
from lensbench.scorers.geneval.labels import GENEVAL_CLASSES

VERSION = 1
MARKER = "lensbench_tiny.json"
DEFAULT_LABELS: tuple[str, ...] = ("dog", "cat", "car")
TINY_CLIP_NAME = "lensbench-tiny-clip"
#: COCO label spellings for the tiny detector's config (as HF COCO checkpoints name them)
_COCO_RENAMES = {"computer mouse": "mouse", "tv remote": "remote", "computer keyboard": "keyboard"}


def cache_root() -> Path:
    return lensbench_cache_root() / "tiny"


def parse_labels(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None or value == "":
        return DEFAULT_LABELS
    labels = tuple(v.strip() for v in value.split(",")) if isinstance(value, str) else tuple(value)
    bad = [v for v in labels if v not in GENEVAL_CLASSES]
    if bad or not labels:
        raise UserError(f"tiny_labels must be GenEval class names separated by commas; unknown: {', '.join(bad) or '(none)'}")
    return labels


def _ensure(name: str, builder: Callable[[Path], None]) -> Path:
    def build(tmp: Path) -> None:
        builder(tmp)
        (tmp / MARKER).write_text(json.dumps({"builder": name, "version": VERSION}))  # marker last

    return build_dir_atomic(cache_root() / f"{name}-v{VERSION}", build, lambda p: (p / MARKER).exists())


def build_tiny_mask2former(out_dir: str | Path, labels: Sequence[str] = DEFAULT_LABELS, seed: int = 0) -> Path:
    import torch
    from transformers import Mask2FormerConfig, Mask2FormerForUniversalSegmentation, Mask2FormerImageProcessor, SwinConfig

    out = Path(out_dir)
    torch.manual_seed(seed)
    backbone = SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
                          window_size=4, out_features=["stage1", "stage2", "stage3", "stage4"])
    id2label = {i: _COCO_RENAMES.get(n, n) for i, n in enumerate(GENEVAL_CLASSES)}
    config = Mask2FormerConfig(
        backbone_config=backbone, feature_size=32, mask_feature_size=32, hidden_dim=32, encoder_feedforward_dim=64,
        encoder_layers=1, decoder_layers=2, num_attention_heads=2, dim_feedforward=64, num_queries=20,
        id2label=id2label, label2id={v: k for k, v in id2label.items()})
    model = Mask2FormerForUniversalSegmentation(config).eval()
    ids = [GENEVAL_CLASSES.index(n) for n in labels]
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        head = model.class_predictor
        head.weight.zero_()
        head.bias.zero_()
        head.weight[ids] = torch.randn(len(ids), head.weight.shape[1], generator=gen) * 3.0
        head.bias[ids] = 20.0  # these labels dominate every query; the random rows pick one per query
        last = dict(model.named_modules())["model.transformer_module.decoder.mask_predictor.mask_embedder.2.0"]
        last.weight.mul_(50.0)  # sharper (more binary) masks, so mask scores are not all ~0.5
    model.save_pretrained(out)
    Mask2FormerImageProcessor(size={"shortest_edge": 64, "longest_edge": 128}).save_pretrained(out)
    (out / "tiny_labels.json").write_text(json.dumps(list(labels)))
    return out


def ensure_tiny_mask2former(labels: Sequence[str] = DEFAULT_LABELS) -> Path:
    labels = parse_labels(labels)
    key = "-".join(str(GENEVAL_CLASSES.index(n)) for n in labels)
    return _ensure(f"geneval-mask2former-{key}", lambda d: build_tiny_mask2former(d, labels))


TINY_CLIP_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "patch_size": 32, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def register_tiny_clip_config() -> str:
    """Make TINY_CLIP_NAME known to open_clip (idempotent) and return the name."""
    import open_clip

    if TINY_CLIP_NAME not in open_clip.list_models():
        cfg_dir = Path(tempfile.mkdtemp(prefix="lensbench-clipcfg-"))
        path = cfg_dir / f"{TINY_CLIP_NAME}.json"
        path.write_text(json.dumps(TINY_CLIP_CONFIG))
        open_clip.add_model_config(path)
        shutil.rmtree(cfg_dir, ignore_errors=True)
    return TINY_CLIP_NAME


def build_tiny_open_clip(out_dir: str | Path, seed: int = 0) -> Path:
    import open_clip
    import torch

    out = Path(out_dir)
    torch.manual_seed(seed)
    model = open_clip.create_model(register_tiny_clip_config(), pretrained=None)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "open_clip_model.pt")
    return out


def ensure_tiny_open_clip() -> tuple[str, Path]:
    """(open_clip model name, checkpoint file) of the cached tiny CLIP, building it on first use."""
    path = _ensure("geneval-open-clip", build_tiny_open_clip)
    return register_tiny_clip_config(), path / "open_clip_model.pt"
