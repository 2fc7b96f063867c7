"""The one-screen summary (a rich table) and selftest.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from lensbench.selftest.result import FAIL, PASS, SKIP, CheckResult

STYLE = {PASS: "bold green", FAIL: "bold red", SKIP: "yellow"}
LABEL = {PASS: "PASS", FAIL: "FAIL", SKIP: "skip"}


def table_rows(results: list[CheckResult]) -> list[tuple[str, str, str]]:
    """(status, check, text) per table row. A model's generate checks that all passed, or were all skipped,
    with the same figure share one row ("generate tiny float32+bfloat16"), so the table stays on one screen;
    selftest.json and the FAIL lines keep every check apart."""
    rows: list[tuple[str, str, str]] = []
    i = 0
    while i < len(results):
        r = results[i]
        model = r.data.get("model") if r.group == "images" else None
        j = i + 1
        while model and j < len(results) and results[j].group == "images" and results[j].data.get("model") == model:
            j += 1
        same = results[i:j]
        if len(same) > 1 and all(x.status == r.status != FAIL and x.figure == r.figure and x.detail == r.detail for x in same):
            rows.append((r.status, f"generate {model} {'+'.join(x.data.get('dtype', '?') for x in same)}", _text(r)))
        else:
            rows += [(x.status, x.name, _text(x)) for x in same]
        i = j
    return rows


def _text(r: CheckResult) -> str:
    return r.figure if r.status == PASS else r.detail if r.status == SKIP else f"{r.figure}: {r.detail}"


def failure_lines(results: list[CheckResult]) -> list[str]:
    """One plain line per failed check: what failed and what to try."""
    return [f"FAIL {r.name}: {r.figure}; {r.detail}; try: {r.hint}" for r in results if r.status == FAIL]


def print_summary(doc: dict[str, Any], results: list[CheckResult], echo=print) -> None:
    from rich.console import Console
    from rich.table import Table

    env = doc["environment"]
    where = env.get("gpu_name") or env.get("cpu") or doc["device"]
    width = max(100, shutil.get_terminal_size((140, 40)).columns)
    console = Console(width=width, highlight=False, soft_wrap=False)
    table = Table(title=f"lensbench selftest on {doc['device']} ({where})", title_justify="left", expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("figure (skipped: why)", overflow="fold", max_width=max(40, width - 50))
    for status, name, text in table_rows(results):
        table.add_row(f"[{STYLE[status]}]{LABEL[status]}[/]", name, f"[dim]{text}[/]" if status == SKIP else text)
    console.print(table)
    c = doc["counts"]
    verdict = "[bold green]all applicable checks passed[/]" if doc["exit_code"] == 0 else "[bold red]FAILED[/]"
    console.print(f"{verdict}: {c[PASS]} passed, {c[FAIL]} failed, {c[SKIP]} skipped in {doc['seconds']:.0f} s; "
                  f"every figure: {doc['json']}")
    for line in failure_lines(results):
        echo(line)


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    from lensbench.store.atomic import write_json_atomic

    write_json_atomic(path, doc)
    return path


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, default=str)
