"""DPG-Bench question CSV: official grouping (incl. the row-0 quirk both ways) and clear errors."""

from __future__ import annotations

import pytest

from lensbench.errors import UserError
from lensbench.scorers.dpg.questions import group_rows, parse_dependency, read_question_csv
from tests.dpg_support import ROWS, write_csv


def rows(*specs):
    return [{"item_id": i, "proposition_id": str(q), "dependency": d, "tuple": "entity - whole (x)",
             "question_natural_language": f"{i}-{q}?"} for i, q, d in specs]  # fmt: skip


def test_row0_quirk_default_drops_first_question(tmp_path):
    table = read_question_csv(write_csv(tmp_path / "q.csv"))
    assert table.skip_first_row is True
    assert list(table.items) == ["itemA", "itemB"]
    assert list(table.get("itemA")) == [2, 3, 4]  # qid 1 of the first item is gone
    assert table.dropped_row["question_natural_language"] == "Is there a cat?"
    assert table.n_questions == len(ROWS) - 1


def test_row0_quirk_off_keeps_first_question(tmp_path):
    table = read_question_csv(write_csv(tmp_path / "q.csv"), skip_first_row=False)
    assert list(table.get("itemA")) == [1, 2, 3, 4]
    assert table.dropped_row is None
    q4 = table.get("itemA")[4]
    assert q4.dependency == (2, 3)
    assert (q4.category_l1, q4.category_l2) == ("relation", "relation - spatial")
    assert q4.line == 5  # header is line 1
    assert table.texts["itemB"] == "A photo of three trees."


def test_parse_dependency():
    assert parse_dependency("0") == (0,)
    assert parse_dependency("1, 2 ,3") == (1, 2, 3)
    with pytest.raises(ValueError):
        parse_dependency("1;2")


def test_non_contiguous_item_keeps_only_last_block():
    table = group_rows(rows(("A", 1, "0"), ("A", 2, "1"), ("B", 1, "0"), ("A", 3, "0")), skip_first_row=False)
    assert list(table.get("A")) == [3]  # official: a new block restarts the item
    assert any("restarts" in n for n in table.notes)


def test_repeated_qid_keeps_first_position_and_last_content():
    table = group_rows(rows(("A", 1, "0"), ("A", 2, "0"), ("A", 1, "2")), skip_first_row=False)
    assert list(table.get("A")) == [1, 2]
    assert table.get("A")[1].dependency == (2,)


def test_first_row_skip_then_same_item_starts_fresh():
    table = group_rows(rows(("A", 1, "0"), ("A", 2, "1")), skip_first_row=True)
    assert list(table.get("A")) == [2]


def test_float_proposition_ids_like_pandas():
    table = group_rows(rows(("A", "3.0", "0")), skip_first_row=False)
    assert list(table.get("A")) == [3]


def test_missing_file_and_columns(tmp_path):
    with pytest.raises(UserError, match="not found.*csv=PATH"):
        read_question_csv(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,text,proposition_id\nA,t,1\n")
    with pytest.raises(UserError, match=r"bad.csv line 1: missing column\(s\) dependency, tuple, question_natural_language"):
        read_question_csv(bad)


@pytest.mark.parametrize(
    "row, line_msg",
    [(("itemB", "x", "0", "global - (a)", "Q?"), "line 3: proposition_id 'x'"),
     (("itemB", 1, "1;2", "global - (a)", "Q?"), "line 3: dependency '1;2'"),
     (("itemB", 1, "", "global - (a)", "Q?"), "line 3: empty 'dependency'"),
     (("itemB", 1, "0", "global - (a)", ""), "line 3: empty 'question_natural_language'")],
)  # fmt: skip
def test_malformed_rows_name_file_and_line(tmp_path, row, line_msg):
    path = write_csv(tmp_path / "q.csv", rows=[ROWS[0], row])
    with pytest.raises(UserError) as exc:
        read_question_csv(path)
    assert "q.csv" in str(exc.value) and line_msg in str(exc.value)


def test_empty_lfs_and_ragged_files(tmp_path):
    empty = write_csv(tmp_path / "e.csv", rows=[])
    with pytest.raises(UserError, match="no question rows"):
        read_question_csv(empty)
    lfs = tmp_path / "l.csv"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 4000000\n")
    with pytest.raises(UserError, match="Git LFS pointer"):
        read_question_csv(lfs)
    ragged = write_csv(tmp_path / "r.csv")
    ragged.write_text(ragged.read_text() + "itemC,t,k,1,0,a,b,c,d,EXTRA\n")
    with pytest.raises(UserError, match="line 9: more cells"):
        read_question_csv(ragged)


def test_blank_lines_do_not_count_as_rows(tmp_path):
    path = write_csv(tmp_path / "q.csv")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "\n" + "".join(lines[1:]))  # a blank line before the first data row
    assert list(read_question_csv(path).get("itemA")) == [2, 3, 4]
