"""One options protocol for every scorer and backend (issue 12 items 3 and 4): typed dataclasses, one-line errors
naming the option and the valid ones, distinct bootstrap / model seeds, and the class attributes the layers above
read (Options, metrics_meta, paired_rule)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lensbench.errors import UserError
from lensbench.options import option_names
from lensbench.scorers import SCORERS, make_scorer, scorer_class
from lensbench.scorers.base import MetricMeta, PairedRule, Scorer
from lensbench.store.results import fingerprint_id

BUILTIN = ("geneval", "dpg", "text", "longtext", "cvtg")


@pytest.mark.parametrize("name", BUILTIN)
def test_scorer_classes_declare_options_metadata_and_paired_rule(name):
    cls = scorer_class(name)
    assert issubclass(cls, Scorer) and dataclasses.is_dataclass(cls.Options)
    assert cls.Options.__dataclass_params__.frozen
    assert cls.metrics_meta and all(isinstance(m, MetricMeta) for m in cls.metrics_meta.values())
    assert isinstance(cls.paired_rule, PairedRule) and cls.paired_rule.metric in cls.metrics_meta


@pytest.mark.parametrize("name, key, valid", [("geneval", "treshold", "threshold"), ("dpg", "skip_frist_row", "skip_first_row"),
                                              ("text", "join_word", "join_words"), ("cvtg", "ned_esp", "ned_eps")])
def test_unknown_key_names_it_the_nearest_and_the_valid_ones(name, key, valid):
    with pytest.raises(UserError) as exc:
        make_scorer(name, {key: "1"})
    msg = str(exc.value)
    assert f"unknown {name} scorer option {key!r}" in msg and f"did you mean {valid!r}" in msg
    assert "valid options:" in msg and valid in msg.split("valid options:")[1] and "\n" not in msg


@pytest.mark.parametrize("name, key, value, typ", [
    ("geneval", "max_objects", "many", "expected int"), ("geneval", "crop", "maybe", "expected bool"),
    ("dpg", "n_boot", "1.5", "expected int"), ("dpg", "answer_mode", "fuzzy", "one of exact, normalized"),
    ("text", "ned_eps", "small", "expected float"), ("text", "min_score", "x", "expected float"),
])
def test_wrongly_typed_value_names_option_type_and_valid_ones(name, key, value, typ):
    with pytest.raises(UserError) as exc:
        make_scorer(name, {key: value})
    msg = str(exc.value)
    assert f"{key}={value!r}" in msg and typ in msg and "valid options:" in msg and "\n" not in msg


def test_bootstrap_seed_and_model_seed_have_distinct_names():
    dpg = make_scorer("dpg", {"backend": "tiny", "seed": "3", "ci_seed": "7"})
    assert dpg.backend.options["seed"] == 3 and dpg.ci_seed == 7 and dpg.settings()["bootstrap"]["seed"] == 7
    text = make_scorer("text", {"ci_seed": "5"})
    assert text.ci_seed == 5 and text.settings()["bootstrap"]["seed"] == 5
    with pytest.raises(UserError, match="did you mean 'ci_seed'"):
        make_scorer("text", {"seed": "5"})  # the OCR scorer has no model seed
    assert "ci_seed" in option_names(scorer_class("dpg").Options) and "seed" not in option_names(scorer_class("dpg").Options)


def test_options_of_another_detector_backend_are_refused_with_the_fix():
    with pytest.raises(UserError, match="tiny_labels belongs to the GenEval detector tiny, not hf-mask2former"):
        make_scorer("geneval", {"tiny_labels": "dog"})


def test_fingerprints_are_json_and_change_only_with_decision_changing_options():
    base = make_scorer("geneval")
    fp = base.fingerprint()
    json.dumps(fp)
    assert fp["detector"]["weights"]["kind"] == "hub" and fp["version"] == base.version
    same = make_scorer("geneval", {"detector_batch_size": "2", "color_batch_size": "4", "results": "0"})
    assert fingerprint_id(same.fingerprint()) == fingerprint_id(fp)  # batching and output files decide nothing
    other = make_scorer("geneval", {"threshold": "0.35"})
    assert fingerprint_id(other.fingerprint()) != fingerprint_id(fp)
    t1, t2 = make_scorer("text", {"n_boot": "50"}), make_scorer("text", {"ned_eps": "0.001"})
    assert fingerprint_id(make_scorer("text").fingerprint()) == fingerprint_id(t1.fingerprint()) != fingerprint_id(t2.fingerprint())


def test_registry_entries_are_the_scorer_classes():
    for name in BUILTIN:
        assert SCORERS.get(name) is scorer_class(name)


def test_local_weights_are_identified_by_content_not_path(tmp_path):
    import shutil

    from lensbench.scorers.identity import with_weights

    a = tmp_path / "a" / "model"
    a.mkdir(parents=True)
    (a / "config.json").write_text('{"labels": ["dog"]}')
    (a / "model.safetensors").write_bytes(b"\0" * 64)
    b = tmp_path / "moved" / "model"
    shutil.copytree(a, b)
    fa, fb = with_weights({"model": str(a)}, "model"), with_weights({"model": str(b)}, "model")
    assert fa == fb and fa["model"] == "local" and "path" not in fa["weights"]  # a moved cache: same fingerprint
    (b / "config.json").write_text('{"labels": ["cow"]}')
    assert with_weights({"model": str(b)}, "model") != fa  # other weights at a known path: another fingerprint
    hub = with_weights({"model": "org/not-cached"}, "model", "main")
    assert hub["weights"] == {"kind": "hub", "repo": "org/not-cached", "revision": "main", "commit": None}
