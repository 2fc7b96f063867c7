"""A progress bar (items/s, ETA) on stderr for long work; silent when disabled (per command, or globally with
`lensbench -q` / `lensbench --no-progress`) or not on rank 0."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.progress import TextColumn


class RateColumn(TextColumn):
    """Items per second as completed / time since the bar started. Hand-written because rich's `task.speed`
    divides by the span between the first and last progress *sample* only (12 units in 1.8 s read 1680 it/s)."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):
        elapsed = task.elapsed
        if not task.completed or not elapsed:
            return super().render(task)
        return f"{task.completed / elapsed:.2f} it/s"


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as p:
        yield _Bar(p, p.add_task(description, total=total))
