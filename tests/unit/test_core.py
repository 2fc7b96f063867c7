"""Registry, config, planning and store: the pure core."""

from __future__ import annotations

import json

import pytest

from lensbench.config import RunConfig
from lensbench.errors import UnknownNameError, UserError
from lensbench.generators.base import check_resolution, nearest_valid
from lensbench.generators.catalog import MODELS
from lensbench.registry import Registry
from lensbench.rewriters import Rewriter
from lensbench.runners.plan import build_plan, cut_batches, resolve_settings, shard
from lensbench.store.run_store import RunStore
from lensbench.suites import load_suite

REQUIRED_MODELS = {"lens", "lens-turbo", "lens-base", "z-image", "z-image-turbo", "qwen-image", "hunyuan-image-3", "tiny"}


def test_registry_has_required_models_and_did_you_mean():
    assert REQUIRED_MODELS <= set(MODELS.names())
    with pytest.raises(UnknownNameError) as ei:
        MODELS.get("lens-trubo")
    assert ei.value.suggestions[0] == "lens-turbo"
    assert "did you mean 'lens-turbo'" in str(ei.value)


def test_registry_lazy_target_and_alias():
    r: Registry = Registry("thing")
    r.register("json-dumps", "json:dumps", aliases=("jd",))
    assert r.get("jd") is json.dumps
    with pytest.raises(ValueError):
        r.register("json-dumps", "json:loads")


def test_lens_variant_defaults_follow_models_md():
    assert (MODELS.get("lens").defaults.steps, MODELS.get("lens").defaults.guidance) == (20, 5.0)
    assert (MODELS.get("lens-turbo").defaults.steps, MODELS.get("lens-turbo").defaults.guidance) == (4, 1.0)
    assert (MODELS.get("lens-base").defaults.steps, MODELS.get("lens-base").defaults.guidance) == (50, 5.0)
    q = MODELS.get("qwen-image").defaults
    assert (q.guidance_kind, q.guidance, q.negative_prompt) == ("true_cfg", 4.0, " ")
    assert MODELS.get("hunyuan-image-3").requires.trust_remote_code


def test_resolution_check_names_constraint_and_nearest():
    spec = MODELS.get("lens")
    check_resolution(spec, 1024, 1024)
    with pytest.raises(UserError) as ei:
        check_resolution(spec, 1000, 1000)
    msg = str(ei.value)
    assert "multiples of 16" in msg and "nearest valid size: 1008x1008" in msg
    h, w = nearest_valid(spec, 512, 4096)  # aspect 8 -> clamped to 2
    check_resolution(spec, h, w)
    assert w / h == pytest.approx(2.0, rel=0.05)


def _settings(cfg, spec):
    return resolve_settings(cfg, spec, "float32", Rewriter())


def test_plan_keys_deterministic_and_sensitive():
    spec = MODELS.get("tiny")
    suite = load_suite("demo")
    cfg = RunConfig(model="tiny", images_per_prompt=2)
    p1 = build_plan(cfg, suite, _settings(cfg, spec))
    p2 = build_plan(cfg, suite, _settings(cfg, spec))
    assert [w.key for w in p1] == [w.key for w in p2]
    assert len({w.key for w in p1}) == len(p1) == 2 * len(suite)
    assert [w.seed for w in p1[:2]] == [42, 43]
    for change in ({"steps": 3}, {"guidance": 1.5}, {"seed": 7}, {"height": 128}, {"negative_prompt": "blur"}):
        c2 = cfg.with_(**change)
        assert not {w.key for w in build_plan(c2, suite, _settings(c2, spec))} & {w.key for w in p1}, change


def test_batches_fixed_and_sharding_disjoint_covering():
    spec = MODELS.get("tiny")
    suite = load_suite("demo")
    cfg = RunConfig(model="tiny", images_per_prompt=3)
    plan = build_plan(cfg, suite, _settings(cfg, spec))
    batches = cut_batches(plan, 4)
    assert [len(b) for b in batches] == [4, 4, 4, 4, 2]
    shards = [shard(batches, r, 3) for r in range(3)]
    keys = [w.key for s in shards for b in s for w in b]
    assert sorted(keys) == sorted(w.key for w in plan) and len(set(keys)) == len(keys)


def test_resolution_preset_and_conflict():
    spec = MODELS.get("lens")
    s = _settings(RunConfig(model="lens", resolution="1440/16:9"), spec)
    assert (s["height"], s["width"]) == (1088, 1936)
    with pytest.raises(UserError, match="no resolution preset"):
        _settings(RunConfig(model="lens", resolution="5:4"), spec)
    with pytest.raises(UserError, match="not both"):
        _settings(RunConfig(model="lens", resolution="1:1", height=1024), spec)


def test_config_file_and_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('model = "tiny"\nsteps = 3\n[suite_options]\nlanguage = "en"\n')
    cfg = RunConfig.from_file(f, steps=5)
    assert (cfg.model, cfg.steps, cfg.suite_options) == ("tiny", 5, {"language": "en"})
    f.write_text('modle = "tiny"\n')
    with pytest.raises(UserError, match="unknown config keys"):
        RunConfig.from_file(f)


def test_config_file_size_is_width_by_height(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('model = "tiny"\nsize = "128x64"\n')
    cfg = RunConfig.from_file(f)
    assert (cfg.width, cfg.height) == (128, 64)
    assert RunConfig.from_file(f, height=32).height == 32  # a flag still overrides the file
    assert (RunConfig.from_dict({"size": "96x32"}).width, RunConfig.from_dict({"size": "96x32"}).height) == (96, 32)
    f.write_text('size = "128x64"\nheight = 64\n')
    with pytest.raises(UserError, match='give either size = "WxH" or height/width, not both') as ei:
        RunConfig.from_file(f)
    assert "\n" not in str(ei.value)
    f.write_text('size = "128"\n')
    with pytest.raises(UserError, match="must be WIDTHxHEIGHT"):
        RunConfig.from_file(f)


def test_store_append_ignores_torn_line_and_last_wins(tmp_path):
    store = RunStore(tmp_path)
    store.append("generate", {"key": "a", "status": "ok", "v": 1})
    with open(store.stream_path("generate"), "a") as fh:
        fh.write('{"key": "b", "sta')  # a writer killed mid-line
    store.append("generate", {"key": "a", "status": "ok", "v": 2})
    recs = store.records("generate")
    assert recs == [{"key": "a", "status": "ok", "v": 2}]
    assert store.done_keys("generate") == {"a"}


def test_store_lock_refuses_second_writer(tmp_path):
    a, b = RunStore(tmp_path), RunStore(tmp_path)
    with a.locked():
        with pytest.raises(UserError, match="in use by pid"):
            with b.locked():
                pass
    with b.locked():  # released
        pass


def test_jsonl_suite_errors_name_file_and_line(tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": \n')
    with pytest.raises(UserError, match=r"s\.jsonl:2: not valid JSON"):
        load_suite(str(f))
    f.write_text('{"id": "a", "text": "x"}\n')
    with pytest.raises(UserError, match=r"s\.jsonl:1: each line needs"):
        load_suite(str(f))
    f.write_text('{"id": "a", "prompt": "x", "tag": "t"}\n')
    s = load_suite(str(f))
    assert s.name == "s" and s.items()[0].metadata == {"tag": "t"}
