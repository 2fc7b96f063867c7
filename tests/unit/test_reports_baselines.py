"""Published baselines: the committed files load, keep sources apart, and the schema rejects bad entries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lensbench.errors import UserError
from lensbench.reports.baselines import load_baselines, parse_value
from lensbench.reports.metrics import METRICS

REPO = Path(__file__).resolve().parents[2]
MODELS = '''
[[model]]
name = "m1"
display = "Model One"
aliases = ["org/Model-One"]
'''


@pytest.fixture(scope="module")
def committed():
    return load_baselines(REPO / "lensbench" / "baselines" / "data")


def test_committed_baselines_every_value_has_source_and_measurer(committed):
    assert len(committed.values) > 300
    for v in committed.values:
        assert v.source and v.measured_by and v.ref, v.where()
        assert v.metric in METRICS


def test_lens_turbo_geneval_two_sources_never_merged(committed):
    vals = {(v.ref, v.measured_by): v for v in committed.query(model="lens-turbo", metric="geneval", category=None)}
    assert vals[("Lens paper", "authors")].text == "0.914"
    assert vals[("Mage-Flow paper", "Mage-Flow authors")].text == "0.83"
    assert all(v.uncertain for v in vals.values())  # both are secondary transcriptions (⚠️)


def test_z_image_geneval_tags_and_precision(committed):
    vals = {v.category: v for v in committed.query(model="z-image", metric="geneval") if v.ref == "Z-Image report"}
    assert vals["single_object"].text == "1.00" and vals["single_object"].value == 1.0
    assert vals["position"].value == pytest.approx(0.62)
    assert vals[None].text == "0.84"
    assert not vals[None].uncertain and vals[None].measured_by == "authors"
    assert "Table 9" in vals[None].source


def test_speed_values_carry_device_resolution_steps(committed):
    lens = [v for v in committed.query(model="lens", metric="latency_s") if v.ref == "Lens paper"][0]
    assert (lens.value, lens.device, lens.height, lens.width, lens.steps) == (3.15, "1x NVIDIA H100", 1024, 1024, 20)
    zt = committed.query(model="z-image-turbo", metric="latency_s", measured_by="authors")[0]
    assert zt.qualifier == "<" and zt.text == "<1"


def test_resolve_model_aliases(committed):
    assert committed.resolve_model("Tongyi-MAI/Z-Image-Turbo") == "z-image-turbo"
    assert committed.resolve_model("LENS-TURBO") == "lens-turbo"
    assert committed.resolve_model("tiny") is None


@pytest.mark.parametrize("raw,expected", [
    ("0.930", (0.93, "0.930", "", None, None)),
    ("<1", (1.0, "<1", "<", None, None)),
    ("≤3", (3.0, "≤3", "<", None, None)),
    ("~19.3", (19.3, "~19.3", "~", None, None)),
    ("45-48", (46.5, "45–48", "range", None, None)),
    (0.5, (0.5, "0.500", "", None, None)),
])
def test_parse_value(raw, expected):
    v, text, q, lo, hi = parse_value(raw, 3)
    assert (pytest.approx(v), text, q) == (expected[0], expected[1], expected[2])


@pytest.mark.parametrize("raw", ["abc", "1.2.3", True, "<45-48", "5-3"])
def test_parse_value_rejects(raw):
    with pytest.raises(ValueError):
        parse_value(raw, 3)


def _write(tmp_path: Path, entry: str, models: str = MODELS, header: str = "schema_version = 1\n") -> Path:
    (tmp_path / "models.toml").write_text(models)
    (tmp_path / "doc.toml").write_text(header + '[document]\nlabel = "Doc"\n' + entry)
    return tmp_path


GOOD = '''
[[entry]]
model = "m1"
metric = "geneval"
values = { counting = "0.70", overall = "0.80" }
source = "Some paper, Table 1"
measured_by = "authors"
'''


def test_minimal_file_loads(tmp_path):
    b = load_baselines(_write(tmp_path, GOOD))
    assert {(v.category, v.text) for v in b.values} == {("counting", "0.70"), (None, "0.80")}
    assert all(v.ref == "Doc" for v in b.values)
    assert b.resolve_model("org/model-one") == "m1"


@pytest.mark.parametrize("mutate,message", [
    (lambda e: e.replace('source = "Some paper, Table 1"\n', ""), "has no `source`"),
    (lambda e: e.replace('source = "Some paper, Table 1"', 'source = "  "'), "has no `source`"),
    (lambda e: e.replace('measured_by = "authors"\n', ""), "has no `measured_by`"),
    (lambda e: e.replace('metric = "geneval"', 'metric = "genevall"'), "unknown metric 'genevall'"),
    (lambda e: e.replace("counting", "counting_objects"), "has no category 'counting_objects'"),
    (lambda e: e.replace('model = "m1"', 'model = "m2"'), "unknown model 'm2'"),
    (lambda e: e + 'colour = "red"\n', "unknown keys ['colour']"),
    (lambda e: e.replace('"0.70"', '"seventy"'), "is not a number"),
    (lambda e: e.replace('values = { counting = "0.70", overall = "0.80" }', 'value = "0.8"\nvalues = { counting = "0.7" }'),
     "exactly one of `value` or `values`"),
    (lambda e: e.replace('metric = "geneval"\nvalues = { counting = "0.70", overall = "0.80" }',
                         'metric = "latency_s"\nvalue = "3.1"'), "needs `device`"),
    (lambda e: e + e, "duplicates"),
])
def test_schema_rejects_bad_entries_naming_file_and_entry(tmp_path, mutate, message):
    with pytest.raises(UserError) as err:
        load_baselines(_write(tmp_path, mutate(GOOD)))
    text = str(err.value)
    assert message in text
    assert "doc.toml entry" in text  # names the file and the entry


def test_schema_rejects_missing_schema_version_and_bad_toml(tmp_path):
    with pytest.raises(UserError, match="schema_version"):
        load_baselines(_write(tmp_path, GOOD, header=""))
    (tmp_path / "doc.toml").write_text("schema_version = 1\n[[entry]\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_baselines(tmp_path)


def test_missing_directory_and_models(tmp_path):
    with pytest.raises(UserError, match="no baselines found"):
        load_baselines(tmp_path / "nope")
    (tmp_path / "models.toml").write_text("")
    with pytest.raises(UserError, match="lists no"):
        load_baselines(tmp_path)


def test_committed_copy_with_one_source_removed_is_rejected(tmp_path):
    shutil.copytree(REPO / "lensbench" / "baselines" / "data", tmp_path / "b")
    p = tmp_path / "b" / "lens-paper.toml"
    text = p.read_text()
    first = 'source = "arXiv 2605.21573 Table 2, via the third-party BenchmarkExplorer widget transcription"\n'
    p.write_text(text.replace(first, "", 1))
    with pytest.raises(UserError, match=r"lens-paper.toml entry 1 \(lens .*has no `source`"):
        load_baselines(tmp_path / "b")
