"""The OpenAI-compatible client (openai SDK) under the project's rules: reasoning-model request shape, secrets
scrubbed from everything an endpoint sends back (error bodies, replies; run directory, cache, coordination file,
captured output), no credentials across origins on redirect, plain http only to loopback, key variables that
look like keys, and trust_remote_code never from options. Every server here listens on 127.0.0.1 only."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from lensbench.errors import UserError
from lensbench.redact import scrub
from lensbench.rewriters import make_rewriter
from tests.helpers import LoopbackServer
from tests.unit.test_rewriters import Stub

KEY = "sk-echo-9f8e7d6c5b4a-SECRET"


class Loopback(LoopbackServer):
    """A 127.0.0.1 server whose POST handler is `handle(handler, body) -> (status, headers, bytes)`."""

    def __init__(self, handle):
        self.requests: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                status, headers, data = handle(self, body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(H)


def _reply(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def test_reasoning_model_request_shape(tmp_path):
    with Stub([("ok", "R")]) as stub:
        rw = make_rewriter("openai", {"model": "o-reasoner", "base_url": stub.url, "cache": False, "workers": 1,
                                      "max_tokens_field": "max_completion_tokens", "temperature": "none",
                                      "reasoning_effort": "low", "max_tokens": 2048})
        assert rw.rewrite(["a cat"]) == ["R: a cat"]
        body = stub.requests[0]["body"]
    assert body["max_completion_tokens"] == 2048 and body["reasoning_effort"] == "low"
    assert "max_tokens" not in body and "temperature" not in body
    ident = rw.identity()
    assert ident["max_tokens_field"] == "max_completion_tokens" and ident["temperature"] is None
    # the default (chat models) still sends max_tokens and temperature
    with Stub([("ok", "C")]) as stub:
        make_rewriter("openai", {"model": "m", "base_url": stub.url, "cache": False}).rewrite(["x"])
        assert {"max_tokens", "temperature"} <= set(stub.requests[0]["body"])
        assert "max_completion_tokens" not in stub.requests[0]["body"]


def test_echoed_key_never_reaches_disk_or_output(shared_data, tmp_path, monkeypatch, capsys):
    """An endpoint that echoes the Authorization header in a 401 body and the key in a reply: the key is in
    no error, record, cache entry, manifest or coordination file (the run is rank 1 of a torchrun pair)."""
    from lensbench.config import RunConfig
    from lensbench.generators import MODELS, LoadOptions
    from lensbench.runners.generate import run_generate
    from tests.ablation_support import FakeGenerator

    monkeypatch.setenv("LB_ECHO_API_KEY", KEY)

    def echo_401(handler, body):
        msg = f"invalid api key provided: {handler.headers.get('Authorization')}"
        return 401, {"Content-Type": "application/json"}, json.dumps({"error": {"message": msg}}).encode()

    def echo_ok(handler, body):
        return 200, {"Content-Type": "application/json"}, _reply(f"a cat, key {KEY}, {handler.headers['Authorization']}")

    meta = str(shared_data / "geneval" / "evaluation_metadata.jsonl")
    cache = tmp_path / "cache"
    gen = FakeGenerator(MODELS.get("tiny"), LoadOptions(device="cpu"))

    def cfg(url, out):
        return RunConfig(model="tiny", suite="geneval", suite_options={"metadata": meta}, out=str(out), limit=2,
                         images_per_prompt=1, height=32, width=32, device="cpu", rewriter="openai", progress=False,
                         rewriter_options={"model": "m", "base_url": url, "api_key_env": "LB_ECHO_API_KEY",
                                           "cache_dir": str(cache), "max_retries": 0})

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with Loopback(echo_401) as server:
        with pytest.raises(UserError) as info:
            run_generate(cfg(server.url, tmp_path / "run401"), generator=gen)
        assert server.requests[0]["auth"] == f"Bearer {KEY}"  # the key was really sent ...
    assert "HTTP 401" in str(info.value) and KEY not in str(info.value)  # ... and is not in the message
    coord = list((tmp_path / "run401" / "coord").glob("*.json"))
    assert coord and "HTTP 401" in coord[0].read_text()  # the coordinator did record the (scrubbed) error
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    with Loopback(echo_ok) as server:
        run_generate(cfg(server.url, tmp_path / "runok"), generator=gen)
    sent = [r["prompt_sent"] for r in _records(tmp_path / "runok")]
    assert sent and all("***" in s for s in sent)
    out = capsys.readouterr()
    blobs = [out.out, out.err, str(info.value)]
    for root in (tmp_path / "run401", tmp_path / "runok", cache):
        blobs += [p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()]
    assert not [b for b in blobs if KEY in b or "Bearer sk-" in b]


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for p in (run / "records").glob("generate.*.jsonl") for line in p.read_text().splitlines()]


def test_scrub_masks_keys_headers_and_bearer_tokens():
    from lensbench.redact import register_secret

    register_secret("tok-0123456789abcdef")
    text = 'got tok-0123456789abcdef; headers {"Authorization": "Bearer abc.def-123"} authorization: Basic Zm9v'
    clean = scrub(text)
    assert "tok-0123456789abcdef" not in clean and "abc.def-123" not in clean and "Zm9v" not in clean
    assert clean.count("***") == 3


def test_redirect_is_refused_and_no_credential_crosses_origins(tmp_path, monkeypatch):
    monkeypatch.setenv("LB_REDIR_KEY", KEY)
    with Loopback(lambda h, b: (200, {"Content-Type": "application/json"}, _reply("evil"))) as other:
        with Loopback(lambda h, b: (302, {"Location": other.url + "/chat/completions"}, b"")) as origin:
            rw = make_rewriter("openai", {"model": "m", "base_url": origin.url, "api_key_env": "LB_REDIR_KEY",
                                          "cache_dir": str(tmp_path / "c")})
            with pytest.raises(UserError, match="redirected.*never follows redirects"):
                rw.rewrite(["a cat"])
            assert len(origin.requests) == 1
        assert other.requests == []  # the other origin saw nothing, so nothing of it was cached
    assert not list((tmp_path / "c").rglob("*.json"))


def test_plain_http_only_to_loopback_unless_allowed():
    with pytest.raises(UserError, match="plain http to a non-loopback host"):
        make_rewriter("openai", {"model": "m", "base_url": "http://llm.example.org/v1"})
    rw = make_rewriter("openai", {"model": "m", "base_url": "http://llm.example.org/v1", "allow_insecure_http": "true"})
    assert rw.identity()["allow_insecure_http"] is True  # recorded (no request is made here)
    for ok in ("http://localhost:8000/v1", "http://127.0.0.5/v1", "http://[::1]:1/v1", "https://llm.example.org/v1"):
        assert "allow_insecure_http" not in make_rewriter("openai", {"model": "m", "base_url": ok}).identity()
    with pytest.raises(UserError, match="credentials in the URL"):
        make_rewriter("openai", {"model": "m", "base_url": "https://u:p@llm.example.org/v1"})
    with pytest.raises(UserError, match="plain http"):
        make_rewriter("lens", {"mode": "api", "model": "m", "base_url": "http://llm.example.org/v1"})


@pytest.mark.parametrize("name", ["HOME", "AWS_SECRET", "DATABASE_URL", "PATH", "lower-case-key", "X_KEY_FILE"])
def test_api_key_env_must_look_like_a_key_variable(name):
    with pytest.raises(UserError, match="does not look like an API-key variable"):
        make_rewriter("openai", {"model": "m", "api_key_env": name})


def test_api_key_env_accepts_key_names():
    for name in ("OPENAI_API_KEY", "TOGETHER_KEY", "HF_TOKEN", "my_llm_api_key"):
        assert make_rewriter("openai", {"model": "m", "api_key_env": name}).api_key_env == name


def test_typed_options_errors_name_the_option():
    with pytest.raises(UserError, match=r"option max_tokens='many' of rewriter 'openai': expected int"):
        make_rewriter("openai", {"model": "m", "max_tokens": "many"})
    with pytest.raises(UserError, match="did you mean 'temperature'"):
        make_rewriter("openai", {"model": "m", "temprature": 0.2})
    with pytest.raises(UserError, match="unknown option 'x' for rewriter 'none'"):
        make_rewriter("none", {"x": 1})


def test_trust_remote_code_is_never_an_option():
    with pytest.raises(UserError, match="--trust-remote-code on the command line"):
        make_rewriter("transformers", {"model": "some/llm", "trust_remote_code": True})
    rw = make_rewriter("transformers", {"model": "some/llm", "device": "cpu"}, trust_remote_code=True)
    assert rw.trust_remote_code and rw.identity()["trust_remote_code"] is True
    assert "trust_remote_code" not in make_rewriter("transformers", {"model": "some/llm", "device": "cpu"}).identity()


def test_cli_rewriter_option_errors_are_one_line_exit_2():
    from tests.helpers import run_cli_inprocess

    base = ("generate", "--model", "tiny", "--suite", "demo", "--dry-run", "--rewriter", "openai",
            "--rewriter-option", "model=m")
    for extra, fragment in ((("--rewriter-option", "max_tokens=2.5"), "option max_tokens=2.5 of rewriter 'openai'"),
                            (("--rewriter-option", "backof=1"), "unknown option 'backof' for rewriter 'openai'")):
        p = run_cli_inprocess(*base, *extra)
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
        assert "valid options: " in lines[0] and "max_tokens_field" in lines[0]


def test_missing_sdk_is_a_one_line_install_hint(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openai", None)  # import openai -> ImportError
    rw = make_rewriter("openai", {"model": "m", "base_url": "http://127.0.0.1:9/v1", "cache": False})
    with pytest.raises(UserError, match=r"pip install 'lensbench\[openai\]'"):
        rw.rewrite(["a cat"])
