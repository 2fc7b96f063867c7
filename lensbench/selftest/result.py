"""The outcome of one selftest check: a named pass / fail / skip line with its figure.

Every check is a `CheckResult`; `data` holds every number behind the figure (written to selftest.json), `hint`
says what to try when it failed (or what would make a skipped check run).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, SKIP = "pass", "fail", "skip"
STATUSES = (PASS, FAIL, SKIP)


@dataclass
class CheckResult:
    name: str  # stable id, e.g. "generate tiny bfloat16" (docs/selftest.md lists them)
    group: str  # images | score | speed | memory | oom | offload | torchrun | report
    status: str  # pass | fail | skip
    figure: str = ""  # the one-line figure shown in the table, e.g. "overhead +0.8 % (limit ±5 %)"
    detail: str = ""  # what was checked / what failed / why it was skipped
    hint: str = ""  # what to try (failures) or what would make it run (skips)
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def passed(name: str, group: str, figure: str, detail: str = "", **data: Any) -> CheckResult:
    return CheckResult(name, group, PASS, figure, detail, data=data)


def failed(name: str, group: str, figure: str, detail: str, hint: str, **data: Any) -> CheckResult:
    return CheckResult(name, group, FAIL, figure, detail, hint, data=data)


def skipped(name: str, group: str, reason: str, hint: str = "", **data: Any) -> CheckResult:
    return CheckResult(name, group, SKIP, "-", reason, hint, data=data)


def verdict(name: str, group: str, ok: bool, figure: str, detail: str, hint: str, **data: Any) -> CheckResult:
    """pass or fail on `ok`; the hint is kept only for a failure."""
    return CheckResult(name, group, PASS if ok else FAIL, figure, detail, "" if ok else hint, data=data)


def exit_code(results: list[CheckResult]) -> int:
    """0 only when every applicable check passed (skips do not fail), and at least one check ran."""
    ran = [r for r in results if r.status != SKIP]
    return 0 if ran and not any(r.failed for r in ran) else 1


def counts(results: list[CheckResult]) -> dict[str, int]:
    return {s: sum(r.status == s for r in results) for s in STATUSES}


def crashed(name: str, group: str, exc: BaseException) -> CheckResult:
    """A check whose code raised: a failure that names the exception (the traceback goes to selftest.json)."""
    import traceback

    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return failed(name, group, "crashed", f"{type(exc).__name__}: {first}",
                  f"rerun it alone with `lensbench selftest --only {group}`; the traceback is in selftest.json",
                  error=f"{type(exc).__name__}: {first}",
                  traceback=traceback.format_exception(type(exc), exc, exc.__traceback__, limit=12))


def timed(fn, ctx, name: str, group: str) -> CheckResult:
    """Run one check `fn(ctx)`; a crash becomes a failed result naming the exception; the time is recorded."""
    import time

    t = time.perf_counter()
    try:
        res = fn(ctx)
    except Exception as exc:  # noqa: BLE001 - every crash of a check is reported as its failure
        res = crashed(name, group, exc)
    res.seconds = round(time.perf_counter() - t, 3)
    return res
