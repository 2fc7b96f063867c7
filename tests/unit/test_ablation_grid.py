"""Ablation grid files: expansion, axis setters, control cell, validation errors; the shipped example grids."""

from __future__ import annotations

from pathlib import Path

import pytest

from lensbench.ablation.grid import load_grid, parse_grid
from lensbench.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def grid(**data):
    return parse_grid({"suite": "smoke", **data})


def test_product_of_axes_in_file_order_with_control():
    g = grid(base={"model": "tiny", "steps": 2}, axes={"steps": [2, 4], "guidance": [1.0, 5.0, 7.5]},
             control={"steps": 4, "guidance": 5})
    assert [c.id for c in g.cells] == ["steps-2_guidance-1.0", "steps-2_guidance-5.0", "steps-2_guidance-7.5",
                                       "steps-4_guidance-1.0", "steps-4_guidance-5.0", "steps-4_guidance-7.5"]
    assert g.control.id == "steps-4_guidance-5.0"  # 5 matches 5.0
    cfg = g.cells[2].run_config(Path("/out"))
    assert (cfg.steps, cfg.guidance, cfg.model, cfg.suite) == (2, 7.5, "tiny", "smoke")
    assert cfg.out == "/out/cells/steps-2_guidance-7.5"
    assert g.axes == ["steps", "guidance"] and g.cells[0].label() == "steps=2, guidance=1.0"


def test_axis_setters_reach_the_right_config_fields():
    g = grid(suite_options={"metadata": "m.jsonl"},
             axes={"language": ["en", "zh"], "shift": [3.0], "size": ["64x128"], "model_options.flow_shift": [2],
                   "rewriter": ["none", {"name": "openai", "label": "gpt", "model": "m1"}]})
    assert len(g.cells) == 4
    cfg = g.cells[-1].run_config(Path("o"))
    assert cfg.suite_options == {"metadata": "m.jsonl", "language": "zh"}
    assert cfg.model_options == {"scheduler_shift": 3.0, "flow_shift": 2}
    assert (cfg.height, cfg.width, cfg.rewriter, cfg.rewriter_options) == (128, 64, "openai", {"model": "m1"})  # WxH
    assert g.cells[-1].id == "language-zh_shift-3.0_size-64x128_model_options.flow_shift-2_rewriter-gpt"
    assert g.cells[0].run_config(Path("o")).rewriter == "none"


def test_explicit_cells_and_named_control():
    g = grid(base={"steps": 20}, cells=[{"name": "a", "model": "lens"}, {"name": "b", "model": "lens-turbo", "steps": 4}],
             control="b")
    assert [c.id for c in g.cells] == ["a", "b"] and g.control.id == "b"
    assert g.axes == ["model", "steps"]
    assert [g.column_value(c, "steps") for c in g.cells] == [20, 4]  # base value shown where the cell does not set it
    assert g.column_value(g.cells[0], "model") == "lens"


def test_suite_option_override_from_the_command_line():
    g = parse_grid({"suite": "geneval", "suite_options": {"metadata": "a"}, "axes": {"language": ["en"]}},
                   suite_options={"metadata": "b"})
    assert g.cells[0].run_config(Path("o")).suite_options == {"metadata": "b", "language": "en"}


@pytest.mark.parametrize("data, message", [
    ({"axes": {"stepz": [1]}}, "unknown ablation axis 'stepz'"),
    ({"axes": {"steps": []}}, "non-empty list"),
    ({"axes": {"steps": [1, 2]}, "control": {"steps": 3}}, "matches 0 cells"),
    ({"axes": {"steps": [1, 2], "seed": [0, 1]}, "control": {"steps": 1}}, "matches 2 cells"),
    ({"cells": [{"name": "x", "steps": 2}, {"name": "x", "steps": 3}]}, "two cells are named 'x'"),
    ({"cells": [{"name": "x", "steps": 2}, {"name": "y", "steps": 2}]}, "identical settings"),
    ({"base": {"stepz": 2}, "axes": {"steps": [1]}}, "unknown config keys"),
    ({"base": {"out": "x"}, "axes": {"steps": [1]}}, "must not set"),
    ({"axes": {"steps": [0]}}, "--steps must be at least 1"),
    ({"axes": {"size": ["big"]}}, "WIDTHxHEIGHT"),
    ({}, "no cells"),
    ({"axes": {"steps": [1]}, "score": {"scorer": "x", "optionz": {}}}, "unknown \\[score\\] keys"),
    ({"axes": {"steps": [1]}, "bogus": 1}, "unknown keys"),
])
def test_validation_errors(data, message):
    with pytest.raises(UserError, match=message):
        grid(**data)


def test_missing_suite_and_bad_toml(tmp_path):
    with pytest.raises(UserError, match="needs suite"):
        parse_grid({"axes": {"steps": [1]}})
    bad = tmp_path / "bad.toml"
    bad.write_text("axes = [")
    with pytest.raises(UserError, match="not valid TOML"):
        load_grid(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_grid(tmp_path / "nope.toml")


@pytest.mark.parametrize("name, n_cells, control", [
    ("tiny.toml", 4, "steps-2_language-en"),
    ("lens_steps_cfg.toml", 16, "steps-20_guidance-5.0"),
    ("lens_turbo_vs_lens.toml", 5, "lens-20"),
    ("rewriter_on_off.toml", 3, "rewriter-none"),
    ("language_sweep.toml", 5, "language-en"),
])
def test_example_grids_parse(name, n_cells, control):
    g = load_grid(REPO / "examples" / "ablations" / name)
    assert len(g.cells) == n_cells and g.control.id == control and g.score
