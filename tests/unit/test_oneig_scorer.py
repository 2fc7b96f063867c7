"""OneIG scorer wiring: typed options, backend selection, deviations/fingerprint, doctor findings, downloads."""

from __future__ import annotations

import pytest

from lensbench.errors import UserError
from lensbench.scorers import make_scorer, scorer_class


def test_registry_and_class_attributes():
    cls = scorer_class("oneig")
    assert cls is not None and cls.paired_rule.metric == "oneig_alignment"
    assert {"oneig_en", "oneig_zh"} <= set(cls.metrics_meta)
    assert cls.metrics_meta["oneig_en"].categories == ("alignment", "text", "reasoning", "style", "diversity")


def test_official_defaults_have_no_deviations_and_options_are_typed():
    sc = make_scorer("oneig", {})
    assert sc.names == {"vqa": "qwen", "ocr": "qwen", "reasoning_model": "llm2clip", "style_model": "csd+se",
                        "diversity_model": "dreamsim"}
    assert sc.deviations() == [] and sc.protocol().judge == "Qwen/Qwen2.5-VL-7B-Instruct"
    with pytest.raises(UserError, match="did you mean 'answer_match'"):
        make_scorer("oneig", {"answer_mach": "exact"})
    with pytest.raises(UserError, match="expected one of exact, normalized"):
        make_scorer("oneig", {"answer_match": "fuzzy"})
    with pytest.raises(UserError, match="unknown OneIG dimension"):
        make_scorer("oneig", {"dimensions": "beauty"})
    with pytest.raises(UserError, match="C,R"):
        make_scorer("oneig", {"grid": "two"})


def test_fix_options_are_deviations_and_change_the_fingerprint():
    base = make_scorer("oneig", {"backend": "tiny"})
    fixed = make_scorer("oneig", {"backend": "tiny", "cascade": "true", "black_grid": "skip"})
    assert base.fingerprint() != fixed.fingerprint()
    assert any("cascade=True" in d for d in fixed.deviations()) and any("black_grid" in d for d in fixed.deviations())
    assert make_scorer("oneig", {"backend": "tiny", "n_boot": "100"}).fingerprint() == base.fingerprint()
    mixed = make_scorer("oneig", {"backend": "tiny", "ocr": "rapidocr"})
    assert mixed.names["ocr"] == "rapidocr" and any("ocr backend 'rapidocr'" in d for d in mixed.deviations())


def test_doctor_findings_and_downloads():
    sc = make_scorer("oneig", {})
    found = {w.split(" ")[0]: status for w, status, _d, _f in sc.doctor_checks(load=False)}
    assert found["style_model"] == "missing"  # the CSD checkpoint is not on the Hub: -O csd_checkpoint=PATH
    repos = [d["repo_id"] for d in sc.downloads()]
    assert repos == ["Qwen/Qwen2.5-VL-7B-Instruct", "microsoft/LLM2CLIP-Openai-L-14-336",
                     "microsoft/LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned", "openai/clip-vit-large-patch14-336",
                     "xingpng/OneIG-StyleEncoder"]
    tiny = make_scorer("oneig", {"backend": "tiny"})
    assert all(status == "info" for _w, status, _d, _f in tiny.doctor_checks()) and tiny.downloads() == []


def test_llm2clip_refuses_remote_code_without_the_flag():
    sc = make_scorer("oneig", {})
    with pytest.raises(UserError, match="pass --trust-remote-code"):
        sc.backends["reasoning_model"].load()
    # only the command-line flag (or the Python argument) allows it: as an -O option (a grid or config file could
    # carry one) it is refused
    with pytest.raises(UserError, match="not a scorer option"):
        make_scorer("oneig", {"trust_remote_code": "true"})
    assert make_scorer("oneig", {}, trust_remote_code=True).backends["reasoning_model"].options.trust_remote_code
    assert not hasattr(make_scorer("geneval", {"detector": "tiny", "clip": "tiny"}, trust_remote_code=True).options,
                       "trust_remote_code")


def test_style_uses_the_reference_rows_with_max_and_clip(shared_data):
    import torch
    from PIL import Image

    from lensbench.scorers.base import ScoreUnit
    from lensbench.suites import load_suite, oneig_data

    data = shared_data / "oneig"
    suite = load_suite("oneig", None, {"data": str(data), "dimensions": "style"})
    item = suite.items()[0]  # anime_049, fauvism
    sc = make_scorer("oneig", {"backend": "tiny"})
    sc._suite_data(suite)
    csd = oneig_data.load_reference_embeddings(data / "CSD_embed.pt")["fauvism"]
    se = oneig_data.load_reference_embeddings(data / "SE_embed.pt")["fauvism"]

    class Exact:  # embeds every tile as reference row 1 (CSD) and minus reference row 2 (SE)
        def embed(self, tile):
            return csd[1].float(), -se[2].float()

    sc.backends["style_model"], sc._loaded = Exact(), {"style_model"}
    unit = ScoreUnit("oneig/anime_049", item, (), {"dims": ["style"]})
    out = sc._score_style(unit, [Image.new("RGB", (8, 8))] * 2)
    assert out["style"] == "fauvism" and len(out["tiles"]) == 2
    tile = out["tiles"][0]
    assert max(tile["csd"]) == pytest.approx(1.0, abs=1e-5)  # unit CSD rows: a row's own similarity
    se_best = float((-(se[2].to(torch.bfloat16)) @ se.to(torch.bfloat16).T).float().max())
    assert tile["score"] == pytest.approx((1.0 + max(se_best, 0.0)) / 2, abs=1e-4)
    assert out["score"] == pytest.approx(tile["score"])


def test_units_follow_the_dimensions_a_suite_was_generated_for(shared_data):
    from lensbench.suites import load_suite

    data = str(shared_data / "oneig")
    full = load_suite("oneig", None, {"data": data})
    recs = [{"key": f"k{i}-{n}", "item_id": it.id, "index": n, "status": "ok", "image": f"t/{it.id}/{n}.png",
             "seed": 42 + n} for i, it in enumerate(full.items()[:6]) for n in range(4)]
    units = make_scorer("oneig", {"backend": "tiny"}).units(full, recs)
    assert {u.item.id: u.info["dims"] for u in units} == {
        "anime_049": ["alignment", "style", "diversity"], "text_000": ["text", "diversity"],
        "reasoning_000": ["reasoning", "diversity"], "human_000": ["alignment", "diversity"],
        "object_000": ["alignment", "diversity"], "anime_000": ["alignment", "diversity"]}
    assert units[0].info["seeds"] == [42, 43, 44, 45]
    styled = load_suite("oneig", None, {"data": data, "dimensions": "style"})
    units = make_scorer("oneig", {"backend": "tiny"}).units(styled, [r for r in recs if r["item_id"] == "anime_049"])
    assert [u.info["dims"] for u in units] == [["style"]]
    only_text = make_scorer("oneig", {"backend": "tiny", "dimensions": "text"}).units(full, recs)
    assert [u.item.id for u in only_text] == ["text_000"]


def test_dreamsim_backend_calls_the_package_api(monkeypatch, tmp_path):
    """The dreamsim package is not installed here: a module with its documented API (dreamsim(pretrained, device,
    cache_dir, dreamsim_type) -> (model, preprocess)) checks how the backend calls it."""
    import sys
    import types

    import torch
    from PIL import Image

    calls = {}

    def dreamsim(pretrained=True, device="cuda", cache_dir="./models", normalize_embeds=True, dreamsim_type="ensemble"):
        calls.update(pretrained=pretrained, device=device, cache_dir=cache_dir, dreamsim_type=dreamsim_type)
        return (lambda a, b: (a - b).abs().mean().reshape(1)), (
            lambda im: torch.tensor(list(im.convert("RGB").getdata()), dtype=torch.float32).mean().reshape(1, 1))

    monkeypatch.setitem(sys.modules, "dreamsim", types.SimpleNamespace(dreamsim=dreamsim))
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path))
    from lensbench.scorers.oneig.backends_hf import DreamSimDistance

    d = DreamSimDistance(make_scorer("oneig", {"device": "cpu"}).options)
    d.load()
    assert calls == {"pretrained": True, "device": "cpu", "cache_dir": str(tmp_path / "models" / "dreamsim"),
                     "dreamsim_type": "ensemble"}
    assert d.distance(Image.new("RGB", (4, 4), (10, 10, 10)), Image.new("RGB", (4, 4), (20, 20, 20))) == 10.0


def test_a_prompt_with_a_failed_image_is_left_out(shared_data):
    from lensbench.suites import load_suite

    suite = load_suite("oneig", None, {"data": str(shared_data / "oneig")})
    recs = [{"key": f"{it.id}-{n}", "item_id": it.id, "index": n, "status": "ok" if (it.id, n) != ("text_000", 2)
             else "failed", "image": f"t/{n}.png", "seed": n} for it in suite.items()[:3] for n in range(4)]
    units = make_scorer("oneig", {"backend": "tiny"}).units(suite, recs)
    assert [u.item.id for u in units] == ["anime_049", "reasoning_000"]
