"""lensbench.filecheck: one strict type check for config, grid and baseline files (issue 13 item 7)."""

from __future__ import annotations

import math
from typing import Any, Literal

import pytest

from lensbench.config import RunConfig
from lensbench.errors import UserError
from lensbench.filecheck import check_fields, check_value, read_table


@pytest.mark.parametrize("annotation, good, bad", [
    (int, [0, -3, 2**40], ["2", 2.5, 2.0, True, None, [1]]),
    (float, [1, 2.5, -0.0], ["1.0", math.nan, math.inf, True, None]),
    (str, ["", "x"], [1, None, ["x"]]),
    (bool, [True, False], [0, 1, "true", None]),
    (int | None, [None, 4], ["4", 4.5]),
    (dict[str, Any], [{}, {"a": [1]}], [[], "x", None]),
    (list[int], [[], [1, 2]], [[1, "2"], "1,2", {"a": 1}]),
    (Literal["a", "b"], ["a"], ["c", 1]),
    (str | dict[str, Any], ["x", {"k": 1}], [1, [1]]),
])
def test_check_value_is_strict(annotation, good, bad):
    assert all(check_value(annotation, v) for v in good), good
    assert not any(check_value(annotation, v) for v in bad), bad


def test_python_api_refuses_wrong_types_too():
    with pytest.raises(UserError, match=r"run settings: batch_size = \"2\" has the wrong type \(string\); expected int"):
        RunConfig(batch_size="2")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="--guidance must be a finite number"):
        RunConfig(guidance=math.nan)
    with pytest.raises(UserError, match="unknown config keys"):
        RunConfig.from_dict({"stepz": 2}, where="x.toml")


def test_check_fields_names_key_type_and_file():
    with pytest.raises(UserError) as err:
        check_fields(RunConfig, {"steps": ["a", "b"]}, where="grid g.toml cell 'c'")
    assert str(err.value).startswith('grid g.toml cell \'c\': steps = ["a", "b"] has the wrong type (list); expected int')


@pytest.mark.parametrize("content, fragment", [
    (b"\x00\x01\xff", "is a binary file"),
    (b"\xff\xfe caf\xe9", "is not UTF-8 text"),
    (b"steps = [2\n", "is malformed"),
])
def test_read_table_refuses_unreadable_files(tmp_path, content, fragment):
    f = tmp_path / "c.toml"
    f.write_bytes(content)
    with pytest.raises(UserError, match=fragment):
        read_table(f, "config file")
    with pytest.raises(UserError, match="is a directory"):
        read_table(tmp_path, "config file")
    with pytest.raises(UserError, match="does not exist"):
        read_table(tmp_path / "none.toml", "config file")
    j = tmp_path / "c.json"
    j.write_text('"just a string"')
    with pytest.raises(UserError, match="must hold a table .* not a string"):
        read_table(j, "config file")
