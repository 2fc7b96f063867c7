"""DPG-Bench question table (``dpg_bench.csv``): parsing and grouping exactly as the official script does.

Official source: TencentQQGYLab/ELLA ``dpg_bench/compute_dpg_bench.py`` (commit 3c228f1), function
``prepare_dpg_data``. What it does, and what `group_rows` reproduces:

* rows are visited in file order with pandas' 0-based row index ``i`` (blank lines do not count);
* **row 0 is skipped** (``if i == 0: continue``) - the first question of the first item is dropped
  (TencentQQGYLab/ELLA#61). ``skip_first_row=False`` keeps it (the corrected behaviour);
* a row whose ``item_id`` equals the previous row's adds to that item; any other row *starts the item
  afresh* (so an item whose rows are not contiguous keeps only its last block);
* within an item, questions are keyed by ``proposition_id`` (a repeated id keeps its first position in the
  order and the last row's content, i.e. Python dict semantics);
* ``dependency`` is split on ``,`` and each part ``int(part.strip())``; ``0`` means "no parent".

Reading uses the standard ``csv`` module with every cell as a string (the official script uses
``pandas.read_csv``; on the official file both give the same strings). Malformed files raise a
`UserError` naming the file and line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lensbench.errors import UserError

#: the columns of the official CSV (comment in compute_dpg_bench.py)
OFFICIAL_COLUMNS = (
    "item_id",
    "text",
    "keywords",
    "proposition_id",
    "dependency",
    "category_broad",
    "category_detailed",
    "tuple",
    "question_natural_language",
)
#: the columns the scorer reads (the others may be absent)
REQUIRED_COLUMNS = ("item_id", "proposition_id", "dependency", "tuple", "question_natural_language")


@dataclass(frozen=True)
class Question:
    """One yes/no proposition of an item (one CSV row)."""

    qid: int
    question: str
    tuple: str
    dependency: tuple[int, ...]  # parent proposition ids; (0,) = no parent
    line: int = 0  # 1-based line of the CSV row (header = line 1); 0 when built by hand

    @property
    def category_l2(self) -> str:
        """Official L2 category: ``tuple.split('(')[0].strip()``, e.g. ``entity - whole``."""
        return category_l2(self.tuple)

    @property
    def category_l1(self) -> str:
        """Official L1 category: the L2 category ``.split('-')[0].strip()``, e.g. ``entity``."""
        return category_l1(category_l2(self.tuple))


def category_l2(tuple_text: str) -> str:
    return tuple_text.split("(")[0].strip()


def category_l1(l2: str) -> str:
    return l2.split("-")[0].strip()


@dataclass
class QuestionTable:
    """item_id -> {qid: Question} in official order, plus the prompt text per item and parse notes."""

    items: dict[str, dict[int, Question]]
    texts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    path: str | None = None
    skip_first_row: bool = True
    dropped_row: dict[str, str] | None = None  # the row the official quirk dropped, if any

    def __len__(self) -> int:
        return len(self.items)

    def get(self, item_id: str) -> dict[int, Question] | None:
        return self.items.get(item_id)

    @property
    def n_questions(self) -> int:
        return sum(len(q) for q in self.items.values())


def parse_dependency(text: str) -> tuple[int, ...]:
    """``"1, 2"`` -> ``(1, 2)``; ``"0"`` -> ``(0,)`` (official: ``int(d.strip())`` per comma part)."""
    return tuple(int(part.strip()) for part in str(text).split(","))


def _parse_int(text: str) -> int:
    s = str(text).strip()
    try:
        return int(s)
    except ValueError:
        f = float(s)  # pandas reads an int column containing blanks as float ("3.0")
        if not f.is_integer():
            raise
        return int(f)


def group_rows(
    rows: Iterable[Mapping[str, str]], *, skip_first_row: bool = True, source: str = "questions"
) -> QuestionTable:
    """Group CSV rows (dicts of strings; optional ``_line``) into a `QuestionTable`, official algorithm."""
    items: dict[str, dict[int, Question]] = {}
    texts: dict[str, str] = {}
    notes: list[str] = []
    seen_blocks: set[str] = set()
    dropped = None
    previous_id = ""
    for i, row in enumerate(rows):
        line = int(row.get("_line", i + 2))
        if i == 0 and skip_first_row:
            dropped = {k: v for k, v in row.items() if k != "_line"}
            continue
        where = f"{source} line {line}"
        for col in REQUIRED_COLUMNS:
            if row.get(col) is None or str(row.get(col)).strip() == "":
                raise UserError(f"{where}: empty {col!r}; fix or re-download the DPG-Bench question CSV")
        current_id = str(row["item_id"])
        try:
            qid = _parse_int(row["proposition_id"])
        except ValueError:
            raise UserError(f"{where}: proposition_id {row['proposition_id']!r} is not an integer; fix the CSV") from None
        try:
            dependency = parse_dependency(row["dependency"])
        except ValueError:
            raise UserError(
                f"{where}: dependency {row['dependency']!r} is not a comma-separated list of integers; fix the CSV"
            ) from None
        q = Question(qid, str(row["question_natural_language"]), str(row["tuple"]), dependency, line)
        if current_id == previous_id:
            items[current_id][qid] = q
        else:
            if current_id in seen_blocks:
                notes.append(
                    f"{where}: item {current_id!r} restarts after other items; like the official script, only its last block is kept"
                )
            seen_blocks.add(current_id)
            items[current_id] = {qid: q}
            if row.get("text") is not None:
                texts[current_id] = str(row["text"])
        previous_id = current_id
    return QuestionTable(items=items, texts=texts, notes=notes, skip_first_row=skip_first_row, dropped_row=dropped)


def read_question_csv(path: str | Path, *, skip_first_row: bool = True) -> QuestionTable:
    """Read ``dpg_bench.csv`` (official schema) into a `QuestionTable`; UserError names file and line."""
    p = Path(path)
    if not p.is_file():
        raise UserError(
            f"DPG-Bench question CSV {p} not found; pass its path (-O csv=PATH or -S csv=PATH) or run `lensbench dpg fetch`"
        )
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            head = fh.read(200)
            if head.startswith("version https://git-lfs"):
                raise UserError(f"{p} is a Git LFS pointer, not the CSV; download the real file (`lensbench dpg fetch`)")
            fh.seek(0)
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise UserError(
                    f"{p} line 1: missing column(s) {', '.join(missing)} (header: {', '.join(header) or 'empty'}); "
                    f"expected the official DPG-Bench columns {', '.join(OFFICIAL_COLUMNS)}"
                )
            rows = []
            for row in reader:  # csv skips blank lines, as pandas does
                if None in row:
                    raise UserError(f"{p} line {reader.line_num}: more cells than header columns; fix the CSV quoting")
                row["_line"] = reader.line_num
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise UserError(f"{p} is not UTF-8 text ({exc.reason}); re-download the DPG-Bench question CSV") from None
    except csv.Error as exc:
        raise UserError(f"{p}: malformed CSV ({exc}); re-download the DPG-Bench question CSV") from None
    if not rows:
        raise UserError(f"{p} has a header but no question rows; re-download the DPG-Bench question CSV")
    table = group_rows(rows, skip_first_row=skip_first_row, source=str(p))
    table.path = str(p)
    return table
