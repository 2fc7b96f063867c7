"""Prompt rewriters: the on-disk cache, the OpenAI-compatible backend (openai SDK) against a stub server on 127.0.0.1,
the Lens reasoner against a stand-in `lens` package, reply cleaning, and the registry."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from http.server import BaseHTTPRequestHandler

import pytest

from lensbench.errors import UserError
from tests.helpers import LoopbackServer
from lensbench.rewriters import REWRITERS, make_rewriter
from lensbench.rewriters.cached import CachedRewriter, clean_reply

SECRET = "sk-test-SECRET-123"


class Stub(LoopbackServer):
    """A chat-completions endpoint whose behaviour per request comes from a script of actions."""

    def __init__(self, script):
        self.script = list(script)  # each: ("ok", text) | ("status", code) | ("sleep", seconds) | ("raw", bytes)
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                kind, arg = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                if kind == "sleep":
                    time.sleep(arg)
                    kind, arg = "ok", "late"
                if kind == "status":
                    self.send_response(arg)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("retry-after-ms", "20")  # the SDK honours it: keeps the retry tests fast
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "busy"}}')
                    return
                data = arg if kind == "raw" else json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": f"{arg}: {body['messages'][1]['content']}"}}]}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)


def _openai(stub, tmp_path, **extra):
    opts = {"model": "stub-model", "base_url": stub.url, "cache_dir": str(tmp_path / "rw"), "api_key_env": "LB_TEST_KEY",
            "timeout": 2, "workers": 1, **extra}
    return make_rewriter("openai", opts)


def test_registry_has_all_backends():
    assert {"none", "lens", "openai", "transformers"} <= set(REWRITERS.names())
    assert make_rewriter("none").rewrite(["a cat"]) == ["a cat"]


def test_openai_rewrites_sends_key_from_env_and_never_records_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LB_TEST_KEY", SECRET)
    with Stub([("ok", "REWRITTEN")]) as stub:
        rw = _openai(stub, tmp_path)
        out = rw.rewrite(["a photo of a cat", "a photo of a dog", "a photo of a cat"])
        assert out == ["REWRITTEN: a photo of a cat", "REWRITTEN: a photo of a dog", "REWRITTEN: a photo of a cat"]
        assert len(stub.requests) == 2  # duplicate prompts are rewritten once
        req = stub.requests[0]
        assert req["path"] == "/v1/chat/completions" and req["auth"] == f"Bearer {SECRET}"
        assert req["body"]["model"] == "stub-model" and req["body"]["temperature"] == 0.0
        assert req["body"]["messages"][0]["role"] == "system"
        parallel = _openai(stub, tmp_path / "par", workers=4)
        prompts = [f"prompt {i}" for i in range(8)]
        assert parallel.rewrite(prompts) == [f"REWRITTEN: {p}" for p in prompts]  # order kept with 4 in flight
    ident = rw.identity()
    assert ident["name"] == "openai" and ident["api_key_env"] == "LB_TEST_KEY" and ident["base_url"] == stub.url
    assert "timeout" not in ident and "cache_dir" not in ident  # transport options do not change rewrites
    blob = json.dumps(ident) + "".join(p.read_text() for p in (tmp_path / "rw").rglob("*.json"))
    assert SECRET not in blob


def test_cache_is_keyed_by_identity_and_prompt_and_survives_a_new_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("LB_TEST_KEY", SECRET)
    with Stub([("ok", "A")]) as stub:
        first = _openai(stub, tmp_path)
        first.rewrite(["p1"])
        second = _openai(stub, tmp_path, timeout=9)  # same identity: cached, no request
        assert second.rewrite(["p1"]) == ["A: p1"] and second.cache_hits == 1 and second.backend_calls == 0
        other = _openai(stub, tmp_path, temperature=0.5)  # another identity: asks again
        other.rewrite(["p1"])
        assert len(stub.requests) == 2
        files = list((tmp_path / "rw").rglob("*.json"))
        assert len(files) == 2 and not list((tmp_path / "rw").rglob(".tmp-*"))
        # a torn / corrupt entry is ignored and rewritten
        first._entry_path("p1").write_text("{not json")
        third = _openai(stub, tmp_path)
        assert third.rewrite(["p1"]) == ["A: p1"] and third.backend_calls == 1
        assert len(stub.requests) == 3
        assert json.loads(first._entry_path("p1").read_text())["rewritten"] == "A: p1"
        uncached = _openai(stub, tmp_path, cache=False)
        uncached.rewrite(["p1"])
        assert uncached.backend_calls == 1


def test_retries_after_server_errors_and_timeouts(tmp_path):
    with Stub([("status", 500), ("status", 429), ("ok", "OK")]) as stub:
        rw = _openai(stub, tmp_path, max_retries=3)
        assert rw.rewrite(["x"]) == ["OK: x"]
        assert len(stub.requests) == 3 and rw.requests_sent == 3
    with Stub([("sleep", 1.0), ("ok", "FAST")]) as stub:
        rw = _openai(stub, tmp_path / "t", timeout=0.3, max_retries=2)
        assert rw.rewrite(["y"]) == ["FAST: y"]
        assert rw.requests_sent == 2


def test_gives_up_after_bounded_attempts(tmp_path):
    with Stub([("status", 503)]) as stub:
        rw = make_rewriter("openai", {"model": "m", "base_url": stub.url, "cache_dir": str(tmp_path), "max_retries": 2})
        with pytest.raises(UserError, match=r"failed 3 time\(s\) \(last: HTTP 503"):
            rw.rewrite(["z"])
        assert len(stub.requests) == 3 and rw.requests_sent == 3  # bounded: max_retries + 1 requests


@pytest.mark.parametrize("raw, message", [
    (b"<html>oops</html>", "malformed reply \\(not JSON"),
    (b'{"choices": []}', "no choices\\[0\\].message.content"),
    (b'{"error": {"message": "model not found"}}', "returned an error"),
    (b'{"choices": [{"message": {"content": 42}}]}', "content is int"),
])
def test_malformed_replies_are_clear_user_errors_without_retry(tmp_path, raw, message):
    with Stub([("raw", raw)]) as stub:
        rw = _openai(stub, tmp_path)
        with pytest.raises(UserError, match=message):
            rw.rewrite(["q"])
        assert len(stub.requests) == 1


def test_auth_and_client_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("LB_TEST_KEY", SECRET)
    with Stub([("status", 401)]) as stub:
        with pytest.raises(UserError, match="environment variable LB_TEST_KEY") as info:
            _openai(stub, tmp_path).rewrite(["q"])
        assert SECRET not in str(info.value)
    with Stub([("status", 404)]) as stub:
        with pytest.raises(UserError, match="HTTP 404"):
            _openai(stub, tmp_path).rewrite(["q"])
        assert len(stub.requests) == 1


def test_unreachable_endpoint(tmp_path):
    rw = make_rewriter("openai", {"model": "m", "base_url": "http://127.0.0.1:9/v1", "cache_dir": str(tmp_path),
                                  "max_retries": 1, "timeout": 1})
    with pytest.raises(UserError, match="failed 2 time"):
        rw.rewrite(["q"])


def test_option_validation():
    with pytest.raises(UserError, match="needs a model"):
        make_rewriter("openai", {})
    with pytest.raises(UserError, match="unknown option"):
        make_rewriter("openai", {"model": "m", "api_key": "sk-nope"})
    with pytest.raises(UserError, match="http"):
        make_rewriter("openai", {"model": "m", "base_url": "ftp://x"})


@pytest.mark.parametrize("reply, clean", [
    ("  a red cat  ", "a red cat"),
    ('"a red cat"', "a red cat"),
    ("<think>count the cats</think>\nA red cat on a mat.", "A red cat on a mat."),
    ("<|channel|>analysis<|message|>hmm<|end|><|start|>assistant<|channel|>final<|message|>a blue car<|return|>",
     "a blue car"),
    ("```\na green bus\n```", "a green bus"),
    ("\u300c一只猫\u300d", "一只猫"),
])
def test_clean_reply(reply, clean):
    assert clean_reply(reply) == clean


def test_empty_reply_falls_back_or_errors(tmp_path):
    with Stub([("raw", b'{"choices": [{"message": {"content": "   "}}]}')]) as stub:
        assert _openai(stub, tmp_path).rewrite(["keep me"]) == ["keep me"]
        with pytest.raises(UserError, match="empty rewrite"):
            _openai(stub, tmp_path / "e", on_empty="error").rewrite(["keep me"])


class _Counting(CachedRewriter):
    name = "counting"

    def settings(self):
        return {"v": 1}

    def _rewrite_uncached(self, prompts):
        return [p.upper() for p in prompts]


def test_cached_rewriter_orders_and_dedupes(tmp_path):
    rw = _Counting({"cache_dir": str(tmp_path)})
    assert rw.rewrite(["b", "a", "b"]) == ["B", "A", "B"] and rw.backend_calls == 2
    assert rw.rewrite(["a", "c"]) == ["A", "C"] and rw.backend_calls == 3 and rw.cache_hits == 1


# -- lens (stand-in package) ------------------------------------------------------------------------------------------
STANDIN = textwrap.dedent('''
    SYSTEM_PROMPT = "stand-in"
    CALLS = []

    class PromptReasoner:
        def __init__(self, *, text_encoder=None, tokenizer=None, openai_api_key=None, openai_base_url=None,
                     openai_model=None, max_new_tokens=4096, temperature=0.7):
            CALLS.append(dict(text_encoder=text_encoder, tokenizer=tokenizer, key=openai_api_key,
                              base_url=openai_base_url, model=openai_model, max_new_tokens=max_new_tokens,
                              temperature=temperature))
            self.has_api = bool(openai_api_key and openai_model)

        def refine(self, prompts, enable):
            if self.has_api:
                return ["api: " + p for p in prompts]
            if enable and CALLS[-1]["text_encoder"] is not None:
                return ["local: " + p for p in prompts]
            return list(prompts)
''')


@pytest.fixture
def lens_standin(tmp_path, monkeypatch):
    pkg = tmp_path / "standin" / "lens"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("class LensGptOssEncoder:\n    loaded = []\n    @classmethod\n"
                                     "    def from_pretrained(cls, where, **kw):\n        cls.loaded.append((where, kw))\n"
                                     "        return cls()\n")
    (pkg / "reasoner.py").write_text(STANDIN)
    monkeypatch.syspath_prepend(str(tmp_path / "standin"))
    for mod in ("lens", "lens.reasoner"):
        sys.modules.pop(mod, None)
    yield pkg
    for mod in ("lens", "lens.reasoner"):
        sys.modules.pop(mod, None)


def test_lens_rewriter_missing_package_is_a_clear_error(monkeypatch):
    import importlib.util

    if importlib.util.find_spec("lens") is not None:
        pytest.skip("a `lens` package is installed here")
    with pytest.raises(UserError, match="github.com/microsoft/Lens"):
        make_rewriter("lens", {})


def test_lens_rewriter_api_mode(lens_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("LB_LENS_KEY", SECRET)
    rw = make_rewriter("lens", {"mode": "api", "model": "gpt-x", "base_url": "https://h/v1", "api_key_env": "LB_LENS_KEY",
                                "cache_dir": str(tmp_path / "c")})
    assert rw.rewrite(["a cat"]) == ["api: a cat"]
    import lens.reasoner

    call = lens.reasoner.CALLS[-1]
    assert call["key"] == SECRET and call["model"] == "gpt-x" and call["temperature"] == 0.7
    ident = rw.identity()
    assert ident["mode"] == "api" and ident["api_key_env"] == "LB_LENS_KEY" and SECRET not in json.dumps(ident)
    assert len(ident["reasoner_sha256"]) == 64
    monkeypatch.delenv("LB_LENS_KEY")
    with pytest.raises(UserError, match="LB_LENS_KEY"):
        make_rewriter("lens", {"mode": "api", "model": "m", "api_key_env": "LB_LENS_KEY", "cache": False}).rewrite(["x"])


@pytest.mark.slow  # imports transformers (and torch)
def test_lens_rewriter_local_mode_loads_encoder_and_tokenizer(lens_standin, tmp_path, monkeypatch):
    import transformers

    loaded = []
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained",
                        classmethod(lambda cls, where, **kw: loaded.append((where, kw)) or "TOKENIZER"))
    rw = make_rewriter("lens", {"model_path": "/weights/lens", "device": "cpu", "cache_dir": str(tmp_path / "c")})
    assert rw.rewrite(["a dog"]) == ["local: a dog"]
    import lens

    where, kw = lens.LensGptOssEncoder.loaded[-1]
    assert where == "/weights/lens" and kw["subfolder"] == "text_encoder"
    assert loaded == [("/weights/lens", {"subfolder": "tokenizer", "revision": None})]
    assert rw.identity()["model_path"] == "/weights/lens"
    # a changed upstream reasoner.py changes the identity, so old rewrites are not reused
    before = rw.identity_hash()
    (lens_standin / "reasoner.py").write_text(STANDIN + "\n# changed\n")
    assert make_rewriter("lens", {"model_path": "/weights/lens", "cache": False}).identity_hash() != before
