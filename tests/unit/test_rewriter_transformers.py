"""The transformers rewriter on a tiny random causal LM built locally (tokenizer + Llama config, save_pretrained,
then loaded back through the same from_pretrained path a user's checkpoint takes)."""

from __future__ import annotations

import pytest

from lensbench.errors import UserError
from lensbench.rewriters import make_rewriter

pytestmark = pytest.mark.slow  # imports torch + transformers

WORDS = ("a photo of red blue green cat dog car on the table with two three sunny street small large wooden "
         "prompt rewritten you rewrite prompts for text to image model reply one").split()
CHAT_TEMPLATE = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}assistant:{% endif %}")


def build_tiny_llm(path, *, chat: bool) -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(["<unk>", "<pad>", "<eos>", *dict.fromkeys(WORDS)])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    if chat:
        fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                      pad_token_id=1, eos_token_id=2, bos_token_id=None)
    LlamaForCausalLM(cfg).save_pretrained(path)


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-llm")
    build_tiny_llm(path, chat=True)
    return path


def test_rewrites_with_a_local_causal_lm_and_caches(tiny_llm, tmp_path):
    opts = {"model": str(tiny_llm), "max_new_tokens": 6, "min_new_tokens": 3, "device": "cpu",
            "cache_dir": str(tmp_path / "c")}
    rw = make_rewriter("transformers", opts)
    out = rw.rewrite(["a photo of a cat", "a photo of two dog"])
    assert len(out) == 2 and all(isinstance(s, str) and s for s in out)
    assert all(set(s.split()) <= set(WORDS) | {"<unk>"} for s in out)  # decoded from the tiny vocabulary
    assert rw.backend_calls == 2 and rw._use_chat()
    assert rw.build_input("a cat").startswith("system: ") and rw.build_input("a cat").endswith("assistant:")
    # greedy decoding is deterministic: a fresh instance without cache gives the same rewrites
    again = make_rewriter("transformers", {**opts, "cache": False})
    assert again.rewrite(["a photo of a cat", "a photo of two dog"]) == out
    # a third instance with the cache never loads the model
    cached = make_rewriter("transformers", opts)
    assert cached.rewrite(["a photo of two dog"]) == [out[1]] and cached.model is None
    ident = rw.identity()
    assert ident["name"] == "transformers" and ident["model"] == str(tiny_llm) and ident["dtype"] == "float32"
    assert ident["temperature"] == 0.0 and "device" not in ident


def test_plain_template_and_errors(tmp_path):
    path = tmp_path / "plain"
    build_tiny_llm(path, chat=False)
    rw = make_rewriter("transformers", {"model": str(path), "max_new_tokens": 4, "min_new_tokens": 2, "cache": False,
                                        "device": "cpu"})
    assert rw.rewrite(["a red car"])[0]
    assert not rw._use_chat() and "Rewritten prompt:" in rw.build_input("a red car")
    with pytest.raises(UserError, match="no chat template"):
        make_rewriter("transformers", {"model": str(path), "template": "chat", "cache": False}).rewrite(["x"])
    with pytest.raises(UserError, match="cannot load the rewriter LLM"):
        make_rewriter("transformers", {"model": str(tmp_path / "missing"), "cache": False}).rewrite(["x"])
    with pytest.raises(UserError, match="needs a model"):
        make_rewriter("transformers", {})
