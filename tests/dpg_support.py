"""DPG-Bench test helpers: small question CSVs of the official shape, prompt folders, fake VQA backends."""

from __future__ import annotations

import csv
from pathlib import Path

from lensbench.scorers.dpg.backends import VqaBackend
from lensbench.scorers.dpg.questions import OFFICIAL_COLUMNS

# (item_id, proposition_id, dependency, tuple, question) - hand-made, official column layout
ROWS = [
    ("itemA", 1, "0", "entity - whole (cat)", "Is there a cat?"),
    ("itemA", 2, "1", "attribute - color (cat, black)", "Is the cat black?"),
    ("itemA", 3, "0", "entity - whole (dog)", "Is there a dog?"),
    ("itemA", 4, "2,3", "relation - spatial (cat, dog, next to)", "Is the cat next to the dog?"),
    ("itemB", 1, "0", "global - (photo)", "Is this a photo?"),
    ("itemB", 2, "0", "entity - whole (tree)", "Is there a tree?"),
    ("itemB", 3, "2", "other - count (tree, ==3)", "Are there three trees?"),
]
PROMPTS = {"itemA": "A black cat next to a dog.", "itemB": "  A photo of three trees.\n"}


def write_csv(path: Path, rows=ROWS, texts=PROMPTS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(OFFICIAL_COLUMNS)
        for item_id, qid, dep, tup, question in rows:
            text = texts.get(item_id, f"prompt of {item_id}").strip()
            w.writerow([item_id, text, "kw", qid, dep, tup.split(" ")[0], tup.split("(")[0].strip(), tup, question])
    return path


def write_prompts(folder: Path, texts=PROMPTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for item_id, text in texts.items():
        (folder / f"{item_id}.txt").write_text(text)
    return folder


TILE_COLORS = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)]


def tile_index(image) -> int:
    """Which generated tile (by its solid colour) an image is: tests that crops keep the official order."""
    px = image.convert("RGB").getpixel((image.size[0] // 2, image.size[1] // 2))
    return min(range(4), key=lambda i: sum(abs(a - b) for a, b in zip(px, TILE_COLORS[i])))


class ScriptedBackend(VqaBackend):
    """Answers from a table {(tile index, question): answer}; default 'yes'. Records every call's size."""

    name = "scripted"

    def __init__(self, table=None, default="yes"):
        super().__init__({"model": "scripted"})
        self.table, self.default, self.calls, self.loaded = dict(table or {}), default, [], 0

    def load(self):
        self.loaded += 1

    def answer(self, images, questions):
        self.calls.append(len(questions))
        return [self.table.get((tile_index(im), q), self.default) for im, q in zip(images, questions)]


# -- a tiny LLaVA (random vision tower) that always answers "Yes." - exercises the `vlm` backend path ------
VLM_WORDS = ["<pad>", "<unk>", "<s>", "</s>", "<image>", "USER:", "ASSISTANT:", "yes", "no", "Yes", ".", "?", "Answer",
             "with", "or", "Is", "there", "a", "cat", "dog", "the", "black"]  # fmt: skip
VLM_TEMPLATE = (
    "{% for m in messages %}USER: {% for c in m['content'] %}{% if c['type'] == 'image' %}<image> {% else %}"
    "{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}{% if add_generation_prompt %} ASSISTANT:{% endif %}"
)


def build_tiny_llava(path: Path) -> Path:
    """Transformer blocks zeroed (residual = token embedding) and lm_head wired as ASSISTANT: -> Yes -> . -> </s>."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers import PreTrainedTokenizerFast

    ids = {w: i for i, w in enumerate(VLM_WORDS)}
    tk = Tokenizer(models.WordLevel(vocab=ids, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                  eos_token="</s>", extra_special_tokens={"image_token": "<image>"})  # fmt: skip
    ip = CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    proc = LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=8, vision_feature_select_strategy="default",
                          chat_template=VLM_TEMPLATE, num_additional_image_tokens=1)  # fmt: skip
    cfg = LlavaConfig(
        vision_config=dict(model_type="clip_vision_model", hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                           num_attention_heads=2, image_size=16, patch_size=8, projection_dim=16),
        text_config=dict(model_type="llama", vocab_size=len(VLM_WORDS), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=0, bos_token_id=2, eos_token_id=3),
        image_token_id=ids["<image>"], vision_feature_select_strategy="default", vision_feature_layer=-1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(cfg).eval()
    lm = model.model.language_model
    with torch.no_grad():
        emb = torch.nn.functional.normalize(torch.randn(len(VLM_WORDS), 16), dim=1) * 4
        lm.embed_tokens.weight.copy_(emb)
        for layer in lm.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.lm_head.weight.zero_()
        for prev, nxt in [("ASSISTANT:", "Yes"), ("Yes", "."), (".", "</s>")]:
            model.lm_head.weight[ids[nxt]] = emb[ids[prev]] * 10
    model.save_pretrained(path)
    proc.save_pretrained(path)
    return path
