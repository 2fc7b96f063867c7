"""The one options protocol: typed coercion, unknown keys with did-you-mean, canonical settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from lensbench.errors import UserError
from lensbench.options import changed_settings, parse_options, settings_dict, split_options


@dataclass(frozen=True)
class Detector:
    labels: tuple[str, ...] = ()
    min_score: float = 0.3
    batch: int = 8
    amp: bool = False
    device: str = "cpu"
    mode: Literal["fast", "exact"] = "exact"
    revision: str | None = None


@dataclass(frozen=True)
class Scorer:
    threshold: float = 0.3
    device: str = "cpu"


def test_strings_are_coerced_by_annotation():
    o = parse_options(Detector, {"labels": "cow, clock", "min_score": "0.5", "batch": "4", "amp": "yes",
                                 "mode": "fast", "revision": "none"}, owner="detector tiny")
    assert o == Detector(labels=("cow", "clock"), min_score=0.5, batch=4, amp=True, mode="fast", revision=None)


def test_typed_values_from_files_pass_through():
    assert parse_options(Detector, {"labels": ["a"], "batch": 2, "min_score": 1}, owner="x").min_score == 1.0


@pytest.mark.parametrize("key,value,expected", [
    ("batch", "abc", "expected int"), ("batch", 2.5, "expected int"), ("amp", "maybe", "expected bool"),
    ("min_score", "nan", "expected float"), ("mode", "slow", "one of fast, exact"), ("batch", True, "expected int"),
])
def test_bad_values_name_the_option_and_type(key, value, expected):
    with pytest.raises(UserError) as exc:
        parse_options(Detector, {key: value}, owner="detector tiny")
    msg = str(exc.value)
    assert key in msg and expected in msg and "detector tiny" in msg and "valid options:" in msg
    assert "\n" not in msg


def test_unknown_key_says_did_you_mean_and_lists_valid():
    with pytest.raises(UserError) as exc:
        parse_options(Detector, {"min_scor": "0.1"}, owner="scorer geneval")
    msg = str(exc.value)
    assert "did you mean 'min_score'" in msg and "valid options: amp, batch, device" in msg
    assert "unknown option 'min_scor' for scorer geneval (did you mean 'min_score'?); valid options:" in msg


def test_several_unknown_keys_each_get_a_natural_hint():
    with pytest.raises(UserError) as exc:
        parse_options(Detector, {"min_scor": "0.1", "bach": "2", "zzz": "1"}, owner="scorer geneval")
    msg = str(exc.value)
    assert msg.startswith("unknown options 'bach', 'min_scor', 'zzz' for scorer geneval "
                          "('bach': did you mean 'batch'?; 'min_scor': did you mean 'min_score'?); valid options:")
    assert " for 'min_scor'" not in msg


def test_split_routes_shared_keys_to_every_part():
    parts = split_options({"device": "cuda", "threshold": "0.4", "batch": "2"},
                          {"scorer": Scorer, "detector": Detector}, owner="scorer geneval")
    assert parts["scorer"] == Scorer(threshold=0.4, device="cuda")
    assert parts["detector"].device == "cuda" and parts["detector"].batch == 2
    with pytest.raises(UserError, match="unknown option 'nope'"):
        split_options({"nope": 1}, {"scorer": Scorer, "detector": Detector}, owner="scorer geneval")


def test_settings_dict_is_canonical_and_jsonable():
    o = parse_options(Detector, {"labels": "b,a", "amp": "1"}, owner="x")
    s = settings_dict(o)
    assert list(s) == sorted(s) and s["labels"] == ["b", "a"] and s["amp"] is True
    assert changed_settings(o) == {"amp": True, "labels": ["b", "a"]}
