"""Suite registry. Entries are lazy ``"module:factory"`` strings; a factory takes
``(source: str | None, options: dict)`` and returns a `Suite`.

A path to a ``.jsonl`` file is accepted as a suite too (see `lensbench.suites.jsonl`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.registry import Registry
from lensbench.suites.base import PromptItem, Suite

SUITES: Registry = Registry("suite")
SUITES.register("smoke", "lensbench.suites.builtin:smoke_suite")
SUITES.register("demo", "lensbench.suites.builtin:demo_suite")
SUITES.register("text", "lensbench.suites.text:text_suite")
SUITES.register("text-en", "lensbench.suites.text:text_en_suite")
SUITES.register("text-zh", "lensbench.suites.text:text_zh_suite")
SUITES.register("longtext", "lensbench.suites.text_official:longtext_suite", aliases=("longtext-bench",))
SUITES.register("cvtg", "lensbench.suites.text_official:cvtg_suite", aliases=("cvtg-2k",))
SUITES.register("geneval", "lensbench.suites.geneval:geneval_suite")
SUITES.register("dpg", "lensbench.suites.dpg:dpg_suite")
SUITES.register("oneig", "lensbench.suites.oneig:oneig_suite", aliases=("oneig-bench",))


def load_suite(name_or_path: str, source: str | None = None, options: dict[str, Any] | None = None) -> Suite:
    """Resolve a registered suite name, or a JSONL file path, into a `Suite`."""
    options = dict(options or {})
    p = Path(name_or_path)
    if name_or_path not in SUITES and (p.suffix == ".jsonl" or p.exists()):
        from lensbench.suites.jsonl import load_jsonl_suite

        return load_jsonl_suite(p, options)
    if name_or_path not in SUITES and source and Path(source).suffix == ".jsonl":
        from lensbench.suites.jsonl import load_jsonl_suite  # a run made from a file: re-read that file

        return load_jsonl_suite(Path(source), options)
    factory = SUITES.get(name_or_path)
    return factory(source, options)


def load_recorded_suite(desc: dict[str, Any]) -> Suite:
    """The suite a run's manifest describes; a suite file that changed since (sha256) is refused."""
    suite = load_suite(desc["name"], desc.get("path") or desc.get("source"), desc.get("options") or {})
    want = desc.get("sha256")
    got = getattr(suite, "file_sha256", None)
    if want and got and want != got:
        raise UserError(f"suite file {desc.get('path')} changed since the run was generated (sha256 {got[:12]} is not "
                        f"the recorded {want[:12]}); restore that file or generate a new run")
    return suite


__all__ = ["SUITES", "PromptItem", "Suite", "load_recorded_suite", "load_suite"]
