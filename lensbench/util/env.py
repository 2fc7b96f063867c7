"""Environment variables set for a block and restored afterwards (a value of None unsets the variable)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def temporary_env(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) `values` in os.environ inside the block; restore what was there after it."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
