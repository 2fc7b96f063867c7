"""Tiny builds of the diffusers pipelines from before 2026: Stable Diffusion, Z-Image, Qwen-Image, FLUX.2-klein.

See `lensbench.generators.tiny` for the cache and the measured behaviour of these builds.
"""

from __future__ import annotations

from pathlib import Path

from lensbench.generators.tiny_parts import finish, flow_scheduler, qwen3_config, qwen25vl_config, vae_flux2, vae_kl_8x
from lensbench.generators.tiny_tokenizers import _clip_tokenizer as clip_tokenizer
from lensbench.generators.tiny_tokenizers import _qwen2_tokenizer as qwen2_tokenizer


def build_tiny_sd(out_dir: str | Path) -> None:
    """StableDiffusionPipeline: CLIP text encoder (2 layers, width 32), UNet (32, 64), 4-level 8x VAE, DDIM.
    Recipe: shared reference environment.md section 3.1."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=77,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    ).eval()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = vae_kl_8x(4)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   image_encoder=None, requires_safety_checker=False)
    finish(pipe, Path(out_dir), "tiny")


def build_tiny_z_image(out_dir: str | Path) -> None:
    """ZImagePipeline: ZImageTransformer2DModel (dim 32, 2 layers + 1 refiner each), 4-level 8x AutoencoderKL
    with 16 latent channels (like the real FLUX.1-style VAE), Qwen3Model text encoder (hidden 32, 2 layers; the
    pipeline reads hidden_states[-2]), local Qwen2Tokenizer with a chat template, FlowMatchEulerDiscreteScheduler
    (real Z-Image-Turbo: shift 3.0, no dynamic shifting; models.md section 2.2)."""
    import torch
    from diffusers import ZImagePipeline, ZImageTransformer2DModel
    from transformers import Qwen3Model

    torch.manual_seed(0)
    tokenizer = qwen2_tokenizer()
    text_hidden = 32
    torch.manual_seed(0)
    text_encoder = Qwen3Model(qwen3_config(tokenizer, text_hidden, intermediate=64, layers=2, head_dim=16)).eval()
    torch.manual_seed(0)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        norm_eps=1e-5,
        qk_norm=True,
        cap_feat_dim=text_hidden,
        rope_theta=256.0,
        t_scale=1000.0,
        axes_dims=[8, 4, 4],
        axes_lens=[1024, 128, 128],
    )
    with torch.no_grad():  # pad tokens are parameters; give them fixed finite values
        transformer.x_pad_token.fill_(0.5)
        transformer.cap_pad_token.fill_(0.5)
    vae = vae_kl_8x(16, scaling_factor=0.3611, shift_factor=0.1159,  # real Z-Image / FLUX.1 VAE config values
                    use_quant_conv=False, use_post_quant_conv=False)
    scheduler = flow_scheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
    pipe = ZImagePipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )
    finish(pipe, Path(out_dir), "tiny-z-image")


def build_tiny_qwen_image(out_dir: str | Path) -> None:
    """QwenImagePipeline: QwenImageTransformer2DModel (2 layers, 2 heads x 16), AutoencoderKLQwenImage with the
    real 4-level layout (8x spatial, z_dim 16) at base_dim 8, Qwen2_5_VLForConditionalGeneration (text hidden 32,
    2 layers, tiny vision tower), local Qwen2Tokenizer whose template prefix is 34 tokens like the real one,
    FlowMatchEulerDiscreteScheduler with Qwen-Image's dynamic-shift settings (models.md section 3.2)."""
    import torch
    from diffusers import AutoencoderKLQwenImage, QwenImagePipeline, QwenImageTransformer2DModel
    from transformers import Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(0)
    tokenizer = qwen2_tokenizer()
    text_hidden = 32
    config = qwen25vl_config(tokenizer, text_hidden)
    torch.manual_seed(0)
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    torch.manual_seed(0)
    z_dim = 16
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=z_dim * 4,
        out_channels=z_dim,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=text_hidden,
        guidance_embeds=False,
        axes_dims_rope=(4, 6, 6),
    )
    torch.manual_seed(0)
    vae = AutoencoderKLQwenImage(
        base_dim=8,
        z_dim=z_dim,
        dim_mult=[1, 2, 4, 4],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim,
    )
    # Qwen-Image scheduler settings (models.md section 3.2)
    scheduler = flow_scheduler(
        num_train_timesteps=1000,
        shift=1.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=0.9,
        base_image_seq_len=256,
        max_image_seq_len=8192,
        shift_terminal=0.02,
        time_shift_type="exponential",
    )
    pipe = QwenImagePipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )
    finish(pipe, Path(out_dir), "tiny-qwen-image")


def build_tiny_flux2_klein(out_dir: str | Path) -> None:
    """Flux2KleinPipeline (distilled, `is_distilled=True` like FLUX.2-klein-4B's model_index; models.md 5.1):
    Flux2Transformer2DModel (1 double + 1 single block, 2 heads x 16), AutoencoderKLFlux2 with 4 levels (8x) and
    32 latent channels (patchified 2x2 -> 128 = transformer in_channels, as in the real model), Qwen3ForCausalLM
    text encoder with 28 tiny layers so the pipeline's default `text_encoder_out_layers=(9, 18, 27)` works
    (joint_attention_dim = 3 x hidden), local Qwen2Tokenizer with a chat template."""
    import torch
    from diffusers import Flux2KleinPipeline, Flux2Transformer2DModel
    from transformers import Qwen3ForCausalLM

    torch.manual_seed(0)
    tokenizer = qwen2_tokenizer()
    text_hidden = 16
    torch.manual_seed(0)
    text_encoder = Qwen3ForCausalLM(qwen3_config(tokenizer, text_hidden, intermediate=32, layers=28, head_dim=8,
                                                       tie_word_embeddings=True)).eval()
    latent_channels = 32
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1,
        in_channels=latent_channels * 4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=3 * text_hidden,
        timestep_guidance_channels=32,
        axes_dims_rope=(4, 4, 4, 4),
        guidance_embeds=False,
    )
    vae = vae_flux2(latent_channels)
    scheduler = flow_scheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True)
    pipe = Flux2KleinPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                              transformer=transformer, is_distilled=True)
    finish(pipe, Path(out_dir), "tiny-flux2-klein")
