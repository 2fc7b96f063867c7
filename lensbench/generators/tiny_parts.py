"""Parts shared by the tiny builders: the build marker and versions, saving, schedulers, VAEs, text configs.

Every builder seeds torch before each component, so a build is byte-identical run to run (the tests compare
hashes). Imports of torch/diffusers/transformers stay inside the functions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MARKER = "lensbench_tiny.json"

#: bump a builder's version when its output changes; the cache path includes it
VERSIONS: dict[str, int] = {
    "tiny": 1,
    "tiny-z-image": 1,
    "tiny-qwen-image": 1,
    "tiny-flux2-klein": 1,
    "tiny-lens": 1,
    "tiny-hunyuan-image-2.1": 1,
    "tiny-hunyuan-image-2.1-distilled": 1,
    "tiny-qwen-image-2.1": 1,
}


def finish(pipe: Any, out_dir: Path, name: str, *, index_overrides: dict[str, list] | None = None) -> None:
    """Save the pipeline (optionally rewriting model_index.json entries into a published layout), then write the
    completion marker last."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).unlink(missing_ok=True)  # rebuilding in place: incomplete until the new marker lands
    pipe.save_pretrained(str(out_dir), safe_serialization=True)
    if index_overrides:
        index_path = out_dir / "model_index.json"
        index = json.loads(index_path.read_text(encoding="utf-8"))
        index.update(index_overrides)
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    marker = {"builder": name, "version": VERSIONS[name]}
    tmp = out_dir / (MARKER + ".tmp")
    tmp.write_text(json.dumps(marker) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / MARKER)


def flow_scheduler(**overrides: Any):
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(**overrides)


def seeded(factory, *args: Any, **kwargs: Any):
    """`factory(*args, **kwargs)` right after `torch.manual_seed(0)` (each component gets its own fixed init)."""
    import torch

    torch.manual_seed(0)
    return factory(*args, **kwargs)


def vae_kl_8x(latent_channels: int, **extra: Any):
    """A 4-level AutoencoderKL (8x, like the real SD/FLUX.1-style VAEs) at test widths (8, 16, 16, 16)."""
    from diffusers import AutoencoderKL

    return seeded(
        AutoencoderKL,
        block_out_channels=[8, 16, 16, 16],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=latent_channels,
        norm_num_groups=8,
        layers_per_block=1,
        sample_size=64,
        **extra,
    )


def vae_flux2(latent_channels: int = 32):
    """A 4-level AutoencoderKLFlux2 (8x) with 32 latent channels like the real FLUX.2 VAE; patchified 2x2 it gives
    128 channels at 16x (FLUX.2-klein's and Lens's transformer in_channels)."""
    from diffusers import AutoencoderKLFlux2

    return seeded(
        AutoencoderKLFlux2,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 16, 16),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=8,
        sample_size=64,
    )


def qwen3_config(tokenizer: Any, hidden: int, *, intermediate: int, layers: int, head_dim: int, **extra: Any):
    """A tiny Qwen3 text-encoder config over the local tokenizer (2 heads, no BOS)."""
    from transformers import Qwen3Config

    return Qwen3Config(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=intermediate,
                       num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2, head_dim=head_dim,
                       max_position_embeddings=1024, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id, **extra)


def qwen25vl_config(tokenizer: Any, text_hidden: int):
    """A tiny Qwen2.5-VL config (text hidden `text_hidden`, 2 layers, mrope, tiny vision tower) over the local
    Qwen2 tokenizer, as Qwen-Image and HunyuanImage-2.1 use for their MLLM text encoder."""
    from transformers import Qwen2_5_VLConfig

    ids = tokenizer.convert_tokens_to_ids
    return Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": text_hidden,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "max_position_embeddings": 2048,
            "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1000000.0},
            "bos_token_id": None,
            "eos_token_id": ids("<|im_end|>"),
            "pad_token_id": ids("<|endoftext|>"),
        },
        vision_config={
            "depth": 1,
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_heads": 2,
            "out_hidden_size": text_hidden,
            "fullatt_block_indexes": [0],
        },
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
