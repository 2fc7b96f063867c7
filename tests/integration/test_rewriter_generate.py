"""A rewriter in a real generate run: prompts go through an OpenAI-compatible stub on 127.0.0.1, the rewritten prompt
is recorded next to each image, the rewriter identity is in the key and the manifest, a resumed run asks nothing
again, and scoring still judges the original metadata."""

from __future__ import annotations

import json

from lensbench.config import RunConfig
from lensbench.generators import MODELS, LoadOptions
from lensbench.runners.generate import run_generate
from lensbench.store.run_store import RunStore
from tests.ablation_support import FakeGenerator
from tests.unit.test_rewriters import Stub


def test_generate_records_rewrites_and_reuses_the_cache(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("LB_GEN_KEY", "sk-never-written")
    meta = str(shared_data / "geneval" / "evaluation_metadata.jsonl")
    gen = FakeGenerator(MODELS.get("tiny"), LoadOptions(device="cpu"))
    with Stub([("ok", "detailed")]) as stub:
        opts = {"model": "stub", "base_url": stub.url, "api_key_env": "LB_GEN_KEY", "cache_dir": str(tmp_path / "rw")}
        cfg = RunConfig(model="tiny", suite="geneval", suite_options={"metadata": meta, "language": "fr"},
                        out=str(tmp_path / "run"), limit=2, images_per_prompt=2, height=32, width=32, device="cpu",
                        rewriter="openai", rewriter_options=opts, progress=False)
        assert run_generate(cfg, generator=gen)["generated"] == 4
        assert len(stub.requests) == 2  # one rewrite per prompt, shared by its images
        recs = RunStore(cfg.out).records("generate")
        assert {r["prompt"] for r in recs} == {"une photo d'un banc", "une photo d'une vache"}
        assert all(r["prompt_sent"] == f"detailed: {r['prompt']}" for r in recs)
        manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
        assert manifest["generation"]["rewriter"]["name"] == "openai"
        assert manifest["generation"]["rewriter"]["api_key_env"] == "LB_GEN_KEY"
        assert "sk-never-written" not in (tmp_path / "run" / "manifest.json").read_text()
        meta0 = json.loads((tmp_path / "run" / "geneval" / "00000" / "metadata.jsonl").read_text())
        assert meta0["prompt"] == "a photo of a bench"  # the scorer's record is untouched

        # the same settings in a new directory: images are made again, rewrites come from the disk cache
        again = run_generate(RunConfig(**{**cfg.to_dict(), "out": str(tmp_path / "run2")}), generator=gen)
        assert again["generated"] == 4 and len(stub.requests) == 2
        keys = {r["key"] for r in RunStore(tmp_path / "run2").records("generate")}
        assert keys == {r["key"] for r in recs}
        # without the rewriter the work-item keys differ
        plain = RunConfig(**{**cfg.to_dict(), "out": str(tmp_path / "run3"), "rewriter": "none", "rewriter_options": {}})
        run_generate(plain, generator=gen)
        assert keys.isdisjoint({r["key"] for r in RunStore(tmp_path / "run3").records("generate")})
