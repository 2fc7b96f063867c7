"""Non-official OneIG backends (recorded deviations): any VLM behind an OpenAI-compatible endpoint as the
alignment / text judge, and rapidocr for text.

The judge gets the official prompts verbatim (one request per tile), so the only change is the model — which
matters: Qwen judging Qwen-Image is a known family bias (MLLM self-preference, arXiv 2604.11589), and a second
judge is one option away: ``-O vqa=openai -O judge_model=NAME -O judge_base_url=URL``. The judge id is the
coverage block's ``judge``. Client: `lensbench.clients.openai_chat.ChatClient` (retries, key from the
environment variable named by ``judge_api_key_env``, never recorded).
"""

from __future__ import annotations

import io
from typing import Any

from lensbench.errors import UserError
from lensbench.scorers.oneig import official as of
from lensbench.scorers.oneig.backends import Ocr, Vqa


class _Judge:
    def __init__(self, o, what: str):
        if not o.judge_model:
            raise UserError(f"the OpenAI-compatible {what} judge needs a model: pass -O judge_model=NAME "
                            "(and -O judge_base_url=URL for a non-OpenAI endpoint)")
        self.o = o
        self.what = what
        self.client = None

    def describe(self) -> dict[str, Any]:
        return {"backend": "openai-compatible", "judge_model": self.o.judge_model, "base_url": self.o.judge_base_url,
                "temperature": 0.0, "max_tokens": self.o.judge_max_tokens, "task": self.what}

    def load(self) -> None:
        from lensbench.clients.openai_chat import ChatClient, EndpointOptions

        if self.client is None:
            self.client = ChatClient(EndpointOptions(base_url=self.o.judge_base_url, api_key_env=self.o.judge_api_key_env),
                                     what=f"the OneIG {self.what} judge")

    def ask(self, tiles, text: str, max_tokens: int) -> list[str]:
        from lensbench.clients.openai_chat import Sampling, image_part

        self.load()
        out = []
        for tile in tiles:
            buf = io.BytesIO()
            tile.save(buf, format="PNG")
            messages = [{"role": "user", "content": [image_part(buf.getvalue()), {"type": "text", "text": text}]}]
            out.append(self.client.complete(Sampling(model=self.o.judge_model, temperature=0.0, max_tokens=max_tokens),
                                            messages))
        return out


class ApiVqa(Vqa):
    name = "openai"

    def __init__(self, options=None):
        super().__init__(options)
        self.j = _Judge(options, "alignment")
        self.judge = options.judge_model

    def describe(self):
        return {**self.j.describe(), "prompt": "{question}" + of.VQA_SUFFIX}

    def load(self):
        self.j.load()

    def answer(self, tiles, question):
        return self.j.ask(tiles, f"{question}{of.VQA_SUFFIX}", self.options.judge_max_tokens)  # matched by answer_match


class ApiOcr(Ocr):
    name = "openai"

    def __init__(self, options=None):
        super().__init__(options)
        self.j = _Judge(options, "text")
        self.judge = options.judge_model

    def describe(self):
        return {**self.j.describe(), "prompt": of.OCR_PROMPT}

    def load(self):
        self.j.load()

    def read(self, tiles, max_new_tokens):
        return self.j.ask(tiles, of.OCR_PROMPT, max_new_tokens)


class RapidOcr(Ocr):
    """rapidocr (PP-OCRv4, weights in the wheel) through lensbench's OCR backend; lines joined in reading
    order with ``rapidocr_joiner`` (default one space)."""

    name = "rapidocr"

    def __init__(self, options=None):
        super().__init__(options)
        from lensbench.scorers.ocr.backends import make_backend

        self.engine = make_backend("rapidocr", {})

    def describe(self):
        return {"backend": "rapidocr", "engine": self.engine.settings(), "joiner": self.options.rapidocr_joiner}

    def load(self):
        self.engine.load()

    def read(self, tiles, max_new_tokens):
        import numpy as np

        lines = self.engine.read_batch([np.asarray(t.convert("RGB")) for t in tiles])
        return [self.options.rapidocr_joiner.join(line.text for line in ls) for ls in lines]
