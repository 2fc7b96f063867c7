"""Weights identity inside scorer fingerprints (the lookup itself is `lensbench.util.identity`)."""

from __future__ import annotations

from typing import Any

from lensbench.util.identity import identity_of


def with_weights(fp: dict[str, Any], key: str, revision: str | None = None) -> dict[str, Any]:
    """`fp` (a backend's settings) plus ``"weights"``: the identity of the weights named by ``fp[key]`` (a Hub
    commit from the local cache, or a local path's content fingerprint). A local path is replaced by
    ``"local"``, so the same weights in another directory (a moved cache, another machine) give the same scorer
    fingerprint, and other weights at the same path give another one."""
    ident = identity_of(str(fp[key]), revision)
    out = dict(fp)
    if ident["kind"] == "local":
        out[key] = "local"
        ident = {k: v for k, v in ident.items() if k != "path"}
    out["weights"] = ident
    return out
