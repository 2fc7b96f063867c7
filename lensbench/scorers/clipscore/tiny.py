"""A tiny random-weight transformers CLIP (the architecture torchmetrics' CLIPScore loads), saved with
save_pretrained in the layout of the ``openai/clip-vit-*`` checkpoints and loaded back through the same
``CLIPModel.from_pretrained`` / ``CLIPProcessor.from_pretrained`` path: model id ``tiny`` for tests and demos.
Scores from it exercise the plumbing, not image-text agreement.

The tokenizer is a real CLIP byte-level BPE with an empty merge table (every word splits into its byte
characters), so it needs no downloaded vocabulary.
"""

from __future__ import annotations

import json
from pathlib import Path

from lensbench.util.files import build_dir_atomic, cache_root

NAME = "tiny"
VERSION = "1"
MARKER = ".lensbench-complete"
IMAGE_SIZE = 32


def _byte_chars() -> list[str]:
    """The 256 printable stand-ins GPT-2/CLIP byte-level BPE uses for bytes (same table as their tokenizers)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def build(path: Path) -> None:
    import torch
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTextConfig,
                              CLIPTokenizer, CLIPVisionConfig)

    chars = _byte_chars()
    vocab = {tok: i for i, tok in enumerate([*chars, *(c + "</w>" for c in chars), "<|startoftext|>",
                                              "<|endoftext|>"])}
    (path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(str(path / "vocab.json"), str(path / "merges.txt"))
    images = CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    torch.manual_seed(0)
    text = CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                          num_attention_heads=2, max_position_embeddings=77, bos_token_id=vocab["<|startoftext|>"],
                          eos_token_id=vocab["<|endoftext|>"], pad_token_id=vocab["<|endoftext|>"])
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                              image_size=IMAGE_SIZE, patch_size=8)
    model = CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=16))
    model.save_pretrained(path)
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(path)
    (path / MARKER).write_text(json.dumps({"builder": "clipscore-tiny", "version": VERSION}))


def ensure_tiny_clip() -> Path:
    """The tiny CLIP directory under ``$LENSBENCH_CACHE/tiny`` (built once, atomically)."""
    return build_dir_atomic(cache_root() / "tiny" / f"clipscore-tiny-clip-v{VERSION}", build,
                            lambda p: (p / MARKER).is_file())
