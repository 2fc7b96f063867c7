"""A tiny random-weight BLIP VQA model built locally from a config (tests and demos; no download).

It is saved with ``save_pretrained`` (model + BlipProcessor with a 32 px image processor and a small
word-piece vocabulary) so the ``blip-vqa`` backend loads it through the same ``from_pretrained`` path a
user's real checkpoint takes. ``answer_bias="yes"`` / ``"no"`` adds a large output bias to that token, so
the first generated token is always that word (lets tests check that answers flow into the scores).
"""

from __future__ import annotations

from pathlib import Path

from lensbench.util.files import build_dir_atomic, cache_root

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "yes", "no"] + (
    "is are there a an the of in on and with to at what color how many left right above below".split()
    + list("abcdefghijklmnopqrstuvwxyz0123456789?.,")
)
IMAGE_SIZE = 32
BIAS = 50.0


def default_dir(seed: int, answer_bias: str | None) -> Path:
    return cache_root() / "models" / f"dpg-tiny-blip-vqa-s{seed}-{answer_bias or 'none'}"


def build_tiny_blip_vqa(path: str | Path | None = None, *, seed: int = 0, answer_bias: str | None = None) -> Path:
    """Build (once) and save a tiny random BLIP VQA at `path` (default: the lensbench cache); return the path."""
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForQuestionAnswering, BlipImageProcessor, BlipProcessor

    if answer_bias not in (None, "yes", "no"):
        raise ValueError(f"answer_bias must be None, 'yes' or 'no', got {answer_bias!r}")
    path = Path(path) if path is not None else default_dir(seed, answer_bias)

    def complete(p: Path) -> bool:
        return (p / "config.json").is_file() and (p / "processor_config.json").is_file()

    def build(out: Path) -> None:
        vocab_file = out / "vocab.txt"
        vocab_file.write_text("\n".join(VOCAB) + "\n")
        tokenizer = BertTokenizer(str(vocab_file), bos_token="[DEC]")
        image_processor = BlipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
        ids = {t: i for i, t in enumerate(VOCAB)}
        text = dict(
            vocab_size=len(VOCAB), hidden_size=32, encoder_hidden_size=32, intermediate_size=64, num_hidden_layers=1,
            num_attention_heads=2, max_position_embeddings=128, bos_token_id=ids["[DEC]"], sep_token_id=ids["[SEP]"],
            pad_token_id=ids["[PAD]"], eos_token_id=ids["[SEP]"],
        )  # fmt: skip
        vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                      image_size=IMAGE_SIZE, patch_size=8)  # fmt: skip
        config = BlipConfig(text_config=text, vision_config=vision, projection_dim=32, image_text_hidden_size=32)
        torch.manual_seed(seed)
        model = BlipForQuestionAnswering(config).eval()
        if answer_bias is not None:
            with torch.no_grad():
                model.text_decoder.cls.predictions.bias[ids[answer_bias]] += BIAS
        model.save_pretrained(out)
        BlipProcessor(image_processor, tokenizer).save_pretrained(out)

    return build_dir_atomic(path, build, complete)
