"""Tiny builds of the 2026 baselines in diffusers 0.42.1: HunyuanImage-2.1 (base and distilled) and Qwen-Image-2.1.

Real pipeline classes, tiny widths, random weights; loaded back through the registry's diffusers adapter exactly as
the real checkpoints are.
"""

from __future__ import annotations

from pathlib import Path

from lensbench.generators.tiny_parts import finish, flow_scheduler, qwen25vl_config, seeded
from lensbench.generators.tiny_tokenizers import _qwen2_tokenizer


def _byt5_encoder():
    """ByT5Tokenizer (byte-level, needs no vocab file) and a 2-layer T5EncoderModel over its 384 ids."""
    from transformers import ByT5Tokenizer, T5Config, T5EncoderModel

    tokenizer = ByT5Tokenizer()
    config = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=2, num_heads=2,
                      relative_attention_num_buckets=8, feed_forward_proj="gated-gelu", is_encoder_decoder=False,
                      decoder_start_token_id=0, pad_token_id=tokenizer.pad_token_id,
                      eos_token_id=tokenizer.eos_token_id)
    return tokenizer, seeded(T5EncoderModel, config).eval()


def _hunyuan_image_21(out_dir: Path, name: str, distilled: bool) -> None:
    """HunyuanImagePipeline: HunyuanImageTransformer2DModel (1 double + 1 single block, 2 heads x 16, patch 1),
    AutoencoderKLHunyuanImage with the real 32x spatial compression (6 levels of width 32: its GroupNorms have 32
    groups; 16 latent channels),
    Qwen2.5-VL text encoder (hidden 32, 2 layers; the pipeline reads hidden_states[-3] after the 34-token template
    prefix), ByT5 glyph encoder, FlowMatchEulerDiscreteScheduler with the README shift (base 5, distilled 4); the
    base build carries the AdaptiveProjectedMixGuidance guider at guidance 3.5, the distilled one a guidance
    embedding (`guidance_embeds=True`, fed `distilled_guidance_scale`) and no guider."""
    from diffusers import (AdaptiveProjectedMixGuidance, AutoencoderKLHunyuanImage, HunyuanImagePipeline,
                           HunyuanImageTransformer2DModel)
    from transformers import Qwen2_5_VLForConditionalGeneration

    tokenizer = seeded(_qwen2_tokenizer)
    text_hidden = 32
    text_encoder = seeded(Qwen2_5_VLForConditionalGeneration, qwen25vl_config(tokenizer, text_hidden)).eval()
    tokenizer_2, text_encoder_2 = _byt5_encoder()
    latent = 16
    transformer = seeded(
        HunyuanImageTransformer2DModel, in_channels=latent, out_channels=latent, num_attention_heads=2,
        attention_head_dim=16, num_layers=1, num_single_layers=1, num_refiner_layers=1, patch_size=(1, 1),
        guidance_embeds=distilled, text_embed_dim=text_hidden, text_embed_2_dim=16, rope_axes_dim=(8, 8),
    )
    vae = seeded(
        AutoencoderKLHunyuanImage, in_channels=3, out_channels=3, latent_channels=latent,
        block_out_channels=(32,) * 6, layers_per_block=1, spatial_compression_ratio=32,
        sample_size=64, scaling_factor=0.75289,
    )
    scheduler = flow_scheduler(num_train_timesteps=1000, shift=4.0 if distilled else 5.0)
    guider = None if distilled else AdaptiveProjectedMixGuidance(guidance_scale=3.5)
    pipe = HunyuanImagePipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer,
                                guider=guider)
    finish(pipe, Path(out_dir), name)


def build_tiny_hunyuan_image_21(out_dir: str | Path) -> None:
    _hunyuan_image_21(Path(out_dir), "tiny-hunyuan-image-2.1", distilled=False)


def build_tiny_hunyuan_image_21_distilled(out_dir: str | Path) -> None:
    _hunyuan_image_21(Path(out_dir), "tiny-hunyuan-image-2.1-distilled", distilled=True)


#: a Qwen3-VL-style chat template written here: messages whose `content` is a string or a list of
#: {"type": "text" | "image"} parts, rendered `<|im_start|>{role}\n...<|im_end|>\n` (same layout as Qwen3-VL's)
_QWEN3VL_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{{- part['text'] -}}"
    "{%- elif part['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def _qwen3vl_processor(tokenizer):
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    return Qwen3VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tokenizer,
                            video_processor=Qwen3VLVideoProcessor(), chat_template=_QWEN3VL_CHAT_TEMPLATE)


def _qwen3vl_config(tokenizer, text_hidden: int):
    from transformers import Qwen3VLConfig

    ids = tokenizer.convert_tokens_to_ids
    return Qwen3VLConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": text_hidden, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 16,
                     "max_position_embeddings": 2048,
                     "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 5000000.0,
                                         "mrope_interleaved": True},
                     "bos_token_id": None, "eos_token_id": ids("<|im_end|>"), "pad_token_id": ids("<|endoftext|>")},
        vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2,
                       "out_hidden_size": text_hidden,
                       "deepstack_visual_indexes": [0], "num_position_embeddings": 16},
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )


def build_tiny_qwen_image_21(out_dir: str | Path) -> None:
    """QwenImage21Pipeline: QwenImage21Transformer2DModel (2 layers, 2 heads x 16, causal condition), the RGBA
    AutoencoderKLQwenImage21 with the real 16x spatial compression (5 levels at base width 8, z_dim 16), a
    Qwen3-VL text encoder (hidden 32, 2 layers, tiny vision tower) with a Qwen3VLProcessor over the local Qwen2
    tokenizer, FlowMatchEulerDiscreteScheduler with dynamic shifting (the pipeline passes `mu`)."""
    from diffusers import AutoencoderKLQwenImage21, QwenImage21Pipeline, QwenImage21Transformer2DModel
    from transformers import Qwen3VLForConditionalGeneration

    tokenizer = seeded(_qwen2_tokenizer)
    text_hidden = 32
    text_encoder = seeded(Qwen3VLForConditionalGeneration, _qwen3vl_config(tokenizer, text_hidden)).eval()
    z_dim = 16
    transformer = seeded(
        QwenImage21Transformer2DModel, patch_size=1, in_channels=z_dim, out_channels=z_dim, num_layers=2,
        attention_head_dim=16, num_attention_heads=2, context_in_dim=text_hidden, axes_dims_rope=(4, 6, 6),
    )
    vae = seeded(
        AutoencoderKLQwenImage21, base_dim=8, decoder_base_dim=8, z_dim=z_dim, dim_mult=[1, 2, 4, 4, 4],
        num_res_blocks=1, temperal_downsample=[False, True, True, True], latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim, in_channels=4, out_channels=4, scale_factor_spatial=16,
    )
    scheduler = flow_scheduler(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=True)
    pipe = QwenImage21Pipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                               processor=_qwen3vl_processor(tokenizer), transformer=transformer)
    finish(pipe, Path(out_dir), "tiny-qwen-image-2.1")
