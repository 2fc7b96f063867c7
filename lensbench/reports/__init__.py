"""Reports: published baselines, tables, charts, published-vs-reproduced deltas and the regression gate.

Heavy libraries (matplotlib) are imported inside the functions that draw; importing this package is cheap.
"""

from __future__ import annotations


def build_report(*args, **kwargs):
    """See `lensbench.reports.build.build_report`."""
    from lensbench.reports.build import build_report as _build

    return _build(*args, **kwargs)


__all__ = ["build_report"]
