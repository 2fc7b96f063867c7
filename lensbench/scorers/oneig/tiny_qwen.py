"""A tiny random-weight Qwen2.5-VL (the real ``Qwen2_5_VLForConditionalGeneration`` architecture) built locally
and saved with ``save_pretrained`` in the checkpoint layout (config, safetensors, generation_config, processor
with a chat template), so the official ``qwen`` alignment/text backend is exercised through its user path
(``-O qwen_model=<dir>``) on CPU. Word-level vocabulary (nothing downloaded); greedy decoding.
"""

from __future__ import annotations

from pathlib import Path

from lensbench.util.files import build_dir_atomic, cache_root

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
           "<|video_pad|>"]
WORDS = ("Yes No user assistant system Recognize the text in image , only reply with content but avoid repeating "
         "previously mentioned . If no is recognized please 'No text recognized' Please answer 'Yes' or 'No' ? "
         "Are there boys girls a Is this anime Sale").split()
#: Qwen2-VL style chat template: image parts become <|vision_start|><|image_pad|><|vision_end|>
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def default_dir() -> Path:
    return cache_root() / "models" / "oneig-tiny-qwen2.5-vl"


def build_tiny_qwen_vl(path: str | Path | None = None) -> Path:
    """Build (once) and save the tiny model at `path` (default: the lensbench cache); return the path."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (GenerationConfig, PreTrainedTokenizerFast, Qwen2_5_VLConfig,
                              Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor, Qwen2VLImageProcessor,
                              Qwen2VLVideoProcessor)

    path = Path(path) if path is not None else default_dir()

    def complete(p: Path) -> bool:
        return (p / "config.json").is_file() and any((p / n).is_file() for n in ("processor_config.json",
                                                                                 "preprocessor_config.json"))

    def build(out: Path) -> None:
        vocab = {t: i for i, t in enumerate(SPECIAL + ["[UNK]"] + sorted(set(WORDS)))}
        tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit()])
        tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="<|endoftext|>",
                                      eos_token="<|im_end|>", additional_special_tokens=SPECIAL[1:])
        tok.padding_side = "left"
        image_processor = Qwen2VLImageProcessor(min_pixels=28 * 28, max_pixels=56 * 56, patch_size=14,
                                                merge_size=2, temporal_patch_size=2)
        video_processor = Qwen2VLVideoProcessor(min_pixels=28 * 28, max_pixels=56 * 56)
        processor = Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tok, video_processor=video_processor,
                                        chat_template=CHAT_TEMPLATE)
        ids = tok.convert_tokens_to_ids
        hidden = 32
        config = Qwen2_5_VLConfig(
            text_config={"vocab_size": len(vocab), "hidden_size": hidden, "intermediate_size": 64,
                         "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2,
                         "max_position_embeddings": 1024,
                         "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e6},
                         "bos_token_id": None, "eos_token_id": ids("<|im_end|>"), "pad_token_id": ids("<|endoftext|>")},
            vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2,
                           "out_hidden_size": hidden, "fullatt_block_indexes": [0], "patch_size": 14,
                           "spatial_merge_size": 2, "temporal_patch_size": 2},
            image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
            vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        )
        torch.manual_seed(0)
        model = Qwen2_5_VLForConditionalGeneration(config).eval()
        model.generation_config = GenerationConfig(do_sample=False, eos_token_id=ids("<|im_end|>"),
                                                   pad_token_id=ids("<|endoftext|>"))
        model.save_pretrained(out)
        processor.save_pretrained(out)

    return build_dir_atomic(path, build, complete)
