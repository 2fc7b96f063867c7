"""Tiny Lens build from the upstream classes (the `lens` package of github.com/microsoft/Lens), saved in the
layout of the published checkpoints.

`LensPipeline.save_pretrained` names the custom components by their Python modules (`["lens.text_encoder",
"LensGptOssEncoder"]`, `["lens.transformer", "LensTransformer2DModel"]`); the published model_index.json files
declare `["transformers", "LensGptOssEncoder"]` and `["diffusers", "LensTransformer2DModel"]` (lens/__init__.py
says so), so this build rewrites those two entries: it is what users load.

Architecture (all real classes, tiny widths): `LensGptOssEncoder` on a 2-layer GptOssConfig (2 local experts,
one sliding + one full attention layer, hidden 32), `LensTransformer2DModel` (1 block, 2 heads x 16,
in_channels 128, multi-layer text features from layers 0 and 1), a 4-level AutoencoderKLFlux2 with 32 latent
channels (LensPipeline hard-codes a VAE factor of 16 = 8x VAE + 2x2 patchify), a harmony-format tokenizer whose
prompt prefix is exactly LensPipeline's txt_offset (97 tokens), and FlowMatchEulerDiscreteScheduler (LensPipeline
passes its own sigmas and mu). `reasoner` is saved as [null, null]: the installed diffusers cannot register the
upstream default `reasoner=True` (a bool), so lensbench attaches `PromptReasoner` after loading, as upstream's
constructor does.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from lensbench.generators.tiny_parts import finish, flow_scheduler, seeded, vae_flux2
from lensbench.generators.tiny_tokenizers import _harmony_tokenizer

#: the component entries of the published Lens checkpoints' model_index.json
PUBLISHED_INDEX = {
    "text_encoder": ["transformers", "LensGptOssEncoder"],
    "transformer": ["diffusers", "LensTransformer2DModel"],
}


def tiny_gpt_oss_config(tokenizer):
    from transformers import GptOssConfig

    return GptOssConfig(
        num_hidden_layers=2, num_local_experts=2, num_experts_per_tok=1, vocab_size=len(tokenizer), hidden_size=32,
        intermediate_size=32, head_dim=16, num_attention_heads=2, num_key_value_heads=1, sliding_window=16,
        layer_types=["sliding_attention", "full_attention"], eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
    )


def build_tiny_lens(out_dir: str | Path) -> None:
    """Tiny random LensPipeline (needs `lens` importable, e.g. the clone on PYTHONPATH)."""
    from lensbench.errors import UserError

    try:
        lens = importlib.import_module("lens")
    except ImportError as exc:
        raise UserError(f"tiny-lens is built from the upstream `lens` package, which cannot be imported ({exc}); "
                        "git clone github.com/microsoft/Lens and add the clone to PYTHONPATH "
                        "(and pip install 'lensbench[lens]')") from exc
    tokenizer = seeded(_harmony_tokenizer)
    text_encoder = seeded(lens.LensGptOssEncoder, tiny_gpt_oss_config(tokenizer)).eval()
    transformer = seeded(
        lens.LensTransformer2DModel,
        patch_size=2, in_channels=128, out_channels=32, num_layers=1, attention_head_dim=16, num_attention_heads=2,
        inner_dim=32, enc_hidden_dim=32, axes_dims_rope=(4, 6, 6), selected_layer_index=(0, 1),
    )
    vae = vae_flux2(32)
    scheduler = flow_scheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True)
    pipe = lens.LensPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                             transformer=transformer, reasoner=None)
    finish(pipe, Path(out_dir), "tiny-lens", index_overrides=PUBLISHED_INDEX)
