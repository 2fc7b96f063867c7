"""User-facing errors.

A `UserError` is bad input or a missing prerequisite that the user can fix. The CLI prints its message as
one line (``error: ...``) and exits with code 2, without a traceback. Everything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """An error the user can fix; the message says what to do."""

    exit_code = 2

    def __init__(self, message: str):
        # Keep the message on one line: the CLI prints it as such.
        super().__init__(" ".join(str(message).split()))


class Interrupted(UserError):
    """Ctrl-C: the message says what was kept and how to resume; exit code 130 (128 + SIGINT), as shells use."""

    exit_code = 130


class UnknownNameError(UserError):
    """An unknown registry name; the message lists the nearest known names."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        super().__init__(f"unknown {kind} {name!r}; {hint}known: {', '.join(known)}")
        self.name = name
        self.suggestions = close


def short_cause(exc: BaseException, limit: int = 200) -> str:
    """The first line of a library's error for a one-line message, cut at a word boundary (never mid-word)."""
    text = str(exc).strip().splitlines()[0].strip() if str(exc).strip() else type(exc).__name__
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut or text[:limit]} ..."


class MissingPackageError(UserError):
    """A Python package is not installed; `install` is the command that fixes it (not `lensbench fetch`)."""

    def __init__(self, message: str, install: str):
        super().__init__(message)
        self.install = install


def require_module(module: str, what: str, install: str):
    """Import `module` or raise a MissingPackageError that says how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - message path tested via callers
        raise MissingPackageError(f"{what} needs the Python package {module!r} ({exc}); install it with: {install}",
                                  install) from exc
