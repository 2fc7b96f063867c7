"""Which suites can run here: every registered suite is loaded with its default options and downloads forbidden
(LENSBENCH_OFFLINE / HF_HUB_OFFLINE set for the check), so nothing is fetched; a suite whose data is missing
reports the suite's own one-line message (which says where the data comes from and which option to pass)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lensbench.errors import UserError
from lensbench.util.env import temporary_env


@dataclass(frozen=True)
class SuiteStatus:
    name: str
    present: bool
    prompts: int | None
    default_scorer: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _no_downloads():
    return temporary_env({"LENSBENCH_OFFLINE": "1", "HF_HUB_OFFLINE": "1"})


def declared_default_scorer(name: str) -> str | None:
    """The default scorer of a registered suite without loading its data: the ``default_scorer`` of the Suite
    class its factory is annotated to return (None for a JSONL file or a suite without one)."""
    import typing

    from lensbench.suites import SUITES

    if name not in SUITES:
        return None
    factory = SUITES.get(name)
    try:
        cls = typing.get_type_hints(factory).get("return")
    except Exception:  # noqa: BLE001 - an unresolvable annotation only means "not declared"
        return None
    scorer = getattr(cls, "default_scorer", None) if isinstance(cls, type) else None
    return scorer if isinstance(scorer, str) else None


def suite_status(name: str, options: dict[str, Any] | None = None) -> SuiteStatus:
    from lensbench.suites import SUITES, load_suite

    canonical = SUITES.canonical(name)
    declared = declared_default_scorer(canonical)
    with _no_downloads():
        try:
            suite = load_suite(canonical, None, dict(options or {}))
        except UserError as exc:
            return SuiteStatus(canonical, False, None, declared, str(exc))
        except (OSError, ValueError) as exc:  # a suite factory that fails on broken data: still a line here
            return SuiteStatus(canonical, False, None, declared, f"{type(exc).__name__}: {exc}")
    scorer = getattr(suite, "default_scorer", None)
    return SuiteStatus(canonical, True, len(suite), scorer if isinstance(scorer, str) else declared,
                       str(suite.source or "bundled with lensbench"))


def all_suite_status() -> list[SuiteStatus]:
    from lensbench.suites import SUITES

    return [suite_status(name) for name in SUITES.names()]


__all__ = ["SuiteStatus", "suite_status", "all_suite_status", "declared_default_scorer"]
