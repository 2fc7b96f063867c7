"""OneIG model backends through their real code paths: the official Qwen2.5-VL backend on a tiny random-weight
Qwen2_5_VLForConditionalGeneration saved in the checkpoint layout, an OpenAI-compatible VLM judge served
locally (the judge id lands in the coverage block)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from PIL import Image

pytest.importorskip("transformers")

from lensbench.scorers.oneig.options import OneigOptions  # noqa: E402


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory):
    from lensbench.scorers.oneig.tiny_qwen import build_tiny_qwen_vl

    return build_tiny_qwen_vl(tmp_path_factory.mktemp("qwen") / "tiny-qwen2.5-vl")


@pytest.mark.slow
def test_official_qwen_backend_loads_a_checkpoint_dir_and_answers_per_tile(tiny_qwen):
    from lensbench.scorers.oneig.backends_hf import QwenOcr, QwenVqa

    o = OneigOptions(qwen_model=str(tiny_qwen), device="cpu", dtype="float32")
    vqa = QwenVqa(o)
    vqa.load()
    tiles = [Image.new("RGB", (56, 56), (200, 10, 10)), Image.new("RGB", (56, 56), (10, 200, 10))]
    answers = vqa.answer(tiles, "Are there boys?")
    assert len(answers) == 2 and all(isinstance(a, str) and a for a in answers)
    ocr = QwenOcr(o)
    ocr.load()
    assert ocr.qwen is vqa.qwen  # one model shared by alignment and text
    assert len(ocr.read(tiles[:1], 4)) == 1
    d = vqa.describe()
    assert d["model"] == str(tiny_qwen) and d["prompt"].endswith(". Please answer 'Yes' or 'No' only.")


class _Judge(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Judge.seen.append(body)
        reply = {"choices": [{"message": {"role": "assistant", "content": "Yes"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_second_judge_behind_an_openai_compatible_endpoint(tmp_path, monkeypatch):
    pytest.importorskip("openai")
    from lensbench.scorers.oneig.scorer import OneigScorer

    server = HTTPServer(("127.0.0.1", 0), _Judge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sc = OneigScorer({"backend": "tiny", "vqa": "openai", "judge_model": "other-vlm",
                          "judge_base_url": f"http://127.0.0.1:{server.server_port}/v1", "judge_api_key_env": "NO_KEY"})
        tiles = [Image.new("RGB", (32, 32), (9, 9, 9))] * 2
        assert sc.backends["vqa"].answer(tiles, "Is there a nun?") == ["Yes", "Yes"]
    finally:
        server.shutdown()
    sent = _Judge.seen[-1]
    assert sent["model"] == "other-vlm" and sent["temperature"] == 0.0
    assert sent["messages"][0]["content"][1]["text"] == "Is there a nun?. Please answer 'Yes' or 'No' only."
    prot = sc.protocol()
    assert prot.judge == "other-vlm" and any("vqa backend 'openai'" in d for d in prot.deviations)


@pytest.mark.slow
def test_official_style_backend_on_tiny_csd_and_style_encoder_builds(tmp_path):
    pytest.importorskip("open_clip")
    import torch

    from lensbench.errors import UserError
    from lensbench.scorers.oneig.backends_hf import CsdSeStyle
    from lensbench.scorers.oneig.tiny_style import build_tiny_style_models

    paths = build_tiny_style_models(tmp_path / "style")
    enc = CsdSeStyle(OneigOptions(device="cpu", **paths))
    enc.load()
    csd, se = enc.embed(Image.new("RGB", (64, 48), (120, 30, 200)))
    assert csd.shape == (768,) and se.shape == (1280,)  # the reference embedding dimensions
    assert float(csd.norm()) == pytest.approx(1.0, abs=1e-4) and float(se.norm()) == pytest.approx(1.0, abs=1e-2)
    assert enc.csd_missing == []  # every backbone weight came from the checkpoint
    bad = tmp_path / "pickled.pth"
    torch.save({"model_state_dict": {}, "args": UserError("an object that needs pickle")}, bad)
    with pytest.raises(UserError, match="weights_only=True"):
        CsdSeStyle(OneigOptions(device="cpu", **{**paths, "csd_checkpoint": str(bad)})).load()
