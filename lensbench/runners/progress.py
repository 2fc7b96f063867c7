"""A progress bar (items/s, ETA) on stderr for long work; silent when disabled (per command, or globally with
`lensbench -q` / `lensbench --no-progress`) or not on rank 0."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class _Null:
    def advance(self, n: int = 1) -> None: ...


class _Bar:
    def __init__(self, progress, task):
        self._p, self._t = progress, task

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._t, n)


@contextlib.contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[_Null | _Bar]:
    from lensbench.util.terminal import progress_enabled

    if not enabled or total <= 0 or not progress_enabled():  # -q / global --no-progress switch every bar off
        yield _Null()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    class _Rate(TextColumn):
        def render(self, task):  # items per second
            speed = task.finished_speed or task.speed
            return super().render(task) if speed is None else f"{speed:.2f} it/s"

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(""),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as p:
        yield _Bar(p, p.add_task(description, total=total))
