"""Tiny random-weight builds of the two official style encoders, in the layouts the real files use, so the
official ``csd+se`` backend is exercised through its user path on CPU (tests; nothing downloaded):

- CSD: an open_clip ViT config (registered as ``oneig-tiny-csd``; 1 layer, width 32, patch 32, 224 px) and a
  ``checkpoint.pth`` = ``{"model_state_dict": {"module.backbone.<visual keys>", "module.last_layer_style",
  "module.last_layer_content"}}`` like the official CSD file (output dim 768 = the CSD_embed.pt rows);
- OneIG-StyleEncoder: a ``CLIPVisionModelWithProjection`` (1 layer, projection 1280 = the SE_embed.pt rows)
  saved with ``save_pretrained``.
"""

from __future__ import annotations

import json
from pathlib import Path

from lensbench.util.files import build_dir_atomic

CSD_ARCH = "oneig-tiny-csd"
_CFG = {"embed_dim": 768, "quick_gelu": True,
        "vision_cfg": {"image_size": 224, "layers": 1, "width": 32, "head_width": 16, "patch_size": 32},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}


def register_tiny_csd_arch(out: Path) -> None:
    import open_clip

    cfg = Path(out) / f"{CSD_ARCH}.json"
    if not cfg.is_file():
        cfg.write_text(json.dumps(_CFG))
    open_clip.add_model_config(cfg)


def build_tiny_style_models(path: str | Path) -> dict[str, str]:
    """Build (once) into `path`; returns the -O options that select them."""
    path = Path(path)

    def complete(p: Path) -> bool:
        return (p / "csd" / "checkpoint.pth").is_file() and (p / "se" / "config.json").is_file()

    def build(out: Path) -> None:
        import open_clip
        import torch
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

        (out / "csd").mkdir()
        register_tiny_csd_arch(out / "csd")
        torch.manual_seed(0)
        visual = open_clip.create_model(CSD_ARCH, pretrained=None, force_quick_gelu=True).visual
        state = {f"module.backbone.{k}": v for k, v in visual.state_dict().items() if k != "proj"}
        state["module.last_layer_style"] = visual.proj.detach().clone()
        state["module.last_layer_content"] = visual.proj.detach().clone()
        torch.save({"model_state_dict": state}, out / "csd" / "checkpoint.pth")
        cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                               image_size=224, patch_size=32, projection_dim=1280)
        torch.manual_seed(0)
        CLIPVisionModelWithProjection(cfg).save_pretrained(out / "se")

    build_dir_atomic(path, build, complete)
    register_tiny_csd_arch(path / "csd")
    return {"csd_checkpoint": str(path / "csd" / "checkpoint.pth"), "csd_arch": CSD_ARCH,
            "style_encoder": str(path / "se")}
