"""Timing building blocks: value objects, the measurement loop, the stage split (with a manual clock), presets,
OOM classification, published-latency matching. No model, no timed asserts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lensbench.errors import UserError
from lensbench.generators import MODELS
from lensbench.speed.plan import (build_points, explicit_sizes, is_valid, parse_int_list, preset_sizes,
                                          reference_side)
from lensbench.timing.loop import measure
from lensbench.timing.measures import Latency, Memory, percentile
from lensbench.timing.stages import StageTracker, split_stages


# -- value objects ------------------------------------------------------------------------------------------
def test_latency_statistics_match_numpy():
    vals = [0.31, 0.12, 0.55, 0.2, 0.27, 0.9, 0.33]
    lat = Latency.from_values(vals)
    assert lat.count == 7 and lat.values == tuple(vals)  # raw samples kept, in order
    assert lat.mean == pytest.approx(np.mean(vals))
    assert lat.std == pytest.approx(np.std(vals, ddof=1))
    for q in (50, 90, 95, 99):
        assert lat.p(q) == pytest.approx(np.percentile(vals, q))
    assert lat.min == 0.12 and lat.max == 0.9
    assert lat.cv_pct == pytest.approx(100 * np.std(vals, ddof=1) / np.mean(vals))
    assert lat.per_second(4) == pytest.approx(4 / np.mean(vals))
    d = lat.to_dict()
    assert d["values"] == vals and d["p50"] == pytest.approx(0.31)


def test_latency_edge_cases_and_merge():
    assert math.isnan(Latency().mean) and math.isnan(Latency().p50) and Latency().count == 0
    one = Latency.from_values([2.0])
    assert one.std == 0.0 and one.p99 == 2.0
    merged = Latency.merge([Latency.from_values([1, 2]), Latency.from_values([3, 4])])
    assert merged.values == (1.0, 2.0, 3.0, 4.0) and merged.p50 == 2.5  # recomputed, not averaged
    with pytest.raises(ValueError, match="warm-up"):
        Latency.from_values([0.1, -0.01])
    with pytest.raises(ValueError):
        Latency.from_values([float("nan")])
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == pytest.approx(3.7)


def test_memory_merge_takes_maxima():
    m = Memory.merge([Memory(1.0, 2.0, 3.0), Memory(1.5, None, 2.0), Memory(None, 1.0, None)])
    assert (m.peak_alloc_gb, m.peak_reserved_gb, m.rss_gb) == (1.5, 2.0, 3.0)
    assert Memory.merge([Memory()]).peak_alloc_gb is None


# -- measurement loop ---------------------------------------------------------------------------------------
class Counter:
    def __init__(self, tick: float = 0.0):
        self.calls, self.now, self.tick = 0, 0.0, tick

    def __call__(self) -> int:
        self.calls += 1
        self.now += self.tick
        return self.calls

    def wall(self) -> float:
        return self.now


def test_loop_counts_cold_warmup_and_repeats():
    c = Counter()
    res = measure(c, warmup=2, repeats=3, min_duration_s=0.0, wall=c.wall)
    assert c.calls == 6 and res.calls == 6
    assert res.cold == 1 and res.warmup_calls == 2 and res.samples == [4, 5, 6]  # cold kept apart


def test_loop_runs_until_both_repeats_and_min_duration():
    c = Counter(tick=1.0)  # every call takes one (fake) second
    res = measure(c, warmup=1, repeats=2, min_duration_s=5.0, wall=c.wall)
    assert len(res.samples) == 5 and res.measure_wall_s == 5.0
    c2 = Counter(tick=10.0)  # slow calls: repeats is the binding condition
    assert len(measure(c2, warmup=0, repeats=4, min_duration_s=5.0, wall=c2.wall).samples) == 4
    c3 = Counter(tick=0.0)  # a cap stops a loop whose clock does not advance
    assert len(measure(c3, warmup=0, repeats=2, min_duration_s=1.0, max_calls=7, wall=c3.wall).samples) == 7


def test_loop_rejects_bad_settings():
    for kw in (dict(warmup=-1, repeats=1, min_duration_s=0), dict(warmup=0, repeats=0, min_duration_s=0),
               dict(warmup=0, repeats=1, min_duration_s=-1)):
        with pytest.raises(UserError):
            measure(lambda: None, **kw)


# -- stage split ----------------------------------------------------------------------------------------
class ManualClock:
    name = "manual"

    def __init__(self):
        self.now = 0.0
        self.syncs = 0

    def mark(self):
        return self.now

    def sync(self):
        self.syncs += 1

    def seconds(self, a, b):
        return b - a


class FakeVae:
    def __init__(self, clock):
        self.clock = clock

    def decode(self, latents):
        self.clock.now += 0.3
        return latents


class FakePipe:
    """Advances a manual clock: checks 0.01, encode 0.1 (+ a nested self-call), prep 0.02, steps 0.2 each,
    unpack 0.04, decode 0.3, post-processing 0.05."""

    def __init__(self, clock):
        self.clock = clock
        self.vae = FakeVae(clock)

    def encode_prompt(self, prompt, nested=True):
        self.clock.now += 0.05
        if nested:
            self.encode_prompt(prompt, nested=False)  # counted once (outermost only)
        return prompt

    def __call__(self, prompt, steps, callback):
        self.clock.now += 0.01
        self.encode_prompt(prompt)
        self.clock.now += 0.02
        for i in range(steps):
            self.clock.now += 0.2
            callback(i, 1000 - i)
        self.clock.now += 0.04
        self.vae.decode("latents")
        self.clock.now += 0.05


def test_stage_tracker_splits_exactly_and_uninstalls():
    clock = ManualClock()
    pipe = FakePipe(clock)
    tr = StageTracker(clock)
    assert tr.install(pipe) == ["encode_prompt", "vae.decode"]  # refine_prompt absent: not wrapped
    assert "encode_prompt" in vars(pipe) and "decode" in vars(pipe.vae)
    tr.begin()
    with tr.stage("rewrite"):
        clock.now += 0.5
    pipe("a cat", 4, tr.step_callback)
    st = tr.end()
    assert st.total_s == pytest.approx(0.5 + 0.01 + 0.1 + 0.02 + 0.8 + 0.04 + 0.3 + 0.05)
    assert st.rewrite_s == pytest.approx(0.5)
    assert st.text_encode_s == pytest.approx(0.1)
    assert st.denoise_s == pytest.approx(0.82)  # from the end of encoding: includes latent prep
    assert st.steps_s == pytest.approx((0.22, 0.2, 0.2, 0.2)) and st.step_mean_s == pytest.approx(0.205)
    assert st.vae_decode_s == pytest.approx(0.3)
    assert st.other_s == pytest.approx(0.01 + 0.04 + 0.05)
    parts = [st.rewrite_s, st.text_encode_s, st.denoise_s, st.vae_decode_s, st.other_s]
    assert math.fsum(parts) == pytest.approx(st.total_s)
    assert clock.syncs == 2  # once before the call, once to read the marks
    tr.uninstall()
    assert "encode_prompt" not in vars(pipe) and "decode" not in vars(pipe.vae)
    clock.now = 0.0
    pipe("a cat", 1, lambda i, t: None)  # works unwrapped; marks nothing
    assert tr._timeline is None


def test_stage_split_unobserved_stages_are_none():
    st = split_stages([("call>", 0.0), ("call<", 2.0)], observed=set())
    assert st.total_s == 2.0 and st.text_encode_s is None and st.denoise_s is None and st.other_s == 2.0
    st2 = split_stages([("call>", 0.0), ("step", 0.5), ("step", 1.0), ("call<", 1.5)], observed={"text_encode"})
    assert st2.text_encode_s == 0.0 and st2.steps_s == (0.5, 0.5) and st2.other_s == pytest.approx(0.5)


# -- presets and sizes ----------------------------------------------------------------------------------
def test_megapixel_ladder_and_aspect_sweep():
    lens, tiny = MODELS.get("lens"), MODELS.get("tiny")
    assert reference_side(lens) == 1024 and reference_side(tiny) == 64
    assert [(h, w) for h, w, _ in preset_sizes(lens, "megapixel-ladder")] == [
        (512, 512), (720, 720), (1024, 1024), (1248, 1248), (1456, 1456)]
    assert [h for h, _, _ in preset_sizes(tiny, "megapixel-ladder")] == [32, 48, 64, 80, 96]
    sweep = preset_sizes(lens, "aspect-sweep")
    assert len(sweep) == 9 and (1024, 1024) in [(h, w) for h, w, _ in sweep]
    targets = [0.5, 9 / 16, 2 / 3, 3 / 4, 1, 4 / 3, 3 / 2, 16 / 9, 2]  # W:H
    for (h, w, label), ar in zip(sweep, targets):
        assert is_valid(lens, h, w), label
        assert abs(w / h / ar - 1) < 0.03 and abs(h * w / 1024**2 - 1) < 0.03, (w, h, label)
    assert [(h, w) for h, w, _ in preset_sizes(tiny, "megapixel-ladder", base_side=128)][0] == (64, 64)


def test_buckets_and_explicit_sizes():
    tiny, flux = MODELS.get("tiny"), MODELS.get("flux1-dev")
    assert [(h, w) for h, w, _ in preset_sizes(tiny, "buckets")] == list(tiny.presets.values())
    with pytest.raises(UserError, match="no resolution buckets"):
        preset_sizes(flux, "buckets")
    with pytest.raises(UserError, match="unknown --preset"):
        preset_sizes(tiny, "ladder")
    assert explicit_sizes(tiny, ["128x64", "1:2", "128x64"]) == [(64, 128, "requested"), (128, 64, "bucket 1:2")]
    with pytest.raises(UserError, match=r"nearest valid size: 96x64.*--snap"):
        explicit_sizes(tiny, ["100x60"])
    assert explicit_sizes(tiny, ["100x60"], snap=True) == [(64, 96, "requested 100x60, snapped")]
    with pytest.raises(UserError, match="WIDTHxHEIGHT"):
        explicit_sizes(tiny, ["big"])
    pts = build_points([(64, 64, "a"), (64, 128, "b")], [2, 4], [4, 1])
    assert [(p.width, p.steps, p.batch_size) for p in pts] == [(64, 2, 1), (64, 2, 4), (64, 4, 1), (64, 4, 4),
                                                               (128, 2, 1), (128, 2, 4), (128, 4, 1), (128, 4, 4)]
    assert parse_int_list("4, 20,4", "--steps") == [4, 20]
    for bad in ("0", "x", ""):
        with pytest.raises(UserError):
            parse_int_list(bad, "--steps")


# -- OOM and published matching -------------------------------------------------------------------------
def test_is_oom():
    import torch

    from lensbench.util.device import is_oom

    assert is_oom(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_oom(RuntimeError("MPS backend out of memory"))
    assert not is_oom(ValueError("out of range")) and not is_oom(RuntimeError("shape mismatch"))


def test_published_latency_shown_only_on_same_device():
    from lensbench.speed.output import format_published
    from lensbench.speed.published import compare, device_matches

    assert device_matches("1x NVIDIA H100", "NVIDIA H100 80GB HBM3")
    assert not device_matches("1x NVIDIA H100", "NVIDIA A100-SXM4-80GB")
    assert not device_matches("8x NVIDIA H100", "NVIDIA H100 80GB HBM3")
    assert not device_matches("Apple M-series (MLX)", "mps") and not device_matches("1x NVIDIA H100", "cpu")
    row = {"status": "ok", "batch_size": 1, "height": 1024, "width": 1024, "steps": 4, "latency_p50_s": 0.9,
           "compile": False, "dtype": "bfloat16"}
    same = compare("lens-turbo", "NVIDIA H100 80GB HBM3", [row])
    e = next(x for x in same["entries"] if x["text"] == "0.84")
    assert e["same_device"] and e["our_p50_s"] == 0.9 and e["label"] == "same device" and "arXiv" in e["source"]
    other = compare("lens-turbo", "cpu", [row])
    e2 = next(x for x in other["entries"] if x["text"] == "0.84")
    assert not e2["same_device"] and e2["our_p50_s"] is None and e2["label"] == "other device (ours: cpu)"
    text = format_published(other)
    assert "published 0.84 s at 1024x1024, 4 steps on 1x NVIDIA H100 [other device (ours: cpu)]: not comparable" in text
    assert "ours 0.900 s p50" in format_published(same)
    assert compare("tiny", "cpu", [row])["entries"] == []


def test_csv_columns_match_the_report_reader():
    from lensbench.speed.output import COLUMNS
    from lensbench.timing.schema import SPEED_COLUMNS

    runs = pytest.importorskip("lensbench.reports.runs")
    assert COLUMNS == runs.SPEED_COLUMNS
    assert COLUMNS is SPEED_COLUMNS and runs.SPEED_COLUMNS is SPEED_COLUMNS and len(SPEED_COLUMNS) == 29
