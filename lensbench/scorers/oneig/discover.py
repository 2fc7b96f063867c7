"""Read a folder in the official OneIG layout made by another tool (``<dir>/<class>/<model>/<id>.<ext>``, the
``images/`` tree of the README) into (suite, pseudo generation records).

Files are matched as alignment_score.py / text_score.py do: ``<id>*`` must match exactly one file of the model
folder, otherwise the prompt is missing (left out; reasoning/style/diversity would score every match, and a
lensbench run never has two). Each record points at the grid itself (``grid: true``).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from lensbench.errors import UserError


def discover_layout(scorer, root: Path) -> tuple[Any, list[dict[str, Any]]]:
    from lensbench.suites.oneig import oneig_suite

    o = scorer.options
    if not o.data:
        raise UserError(f"{root} has no lensbench manifest; to score a folder in the official OneIG layout pass "
                        "-O data=DIR (the official data files) and -O language=en|zh")
    suite = oneig_suite(None, {"data": o.data, "language": o.language})
    folders = sorted({it.metadata["folder"] for it in suite.items()})
    present = [f for f in folders if (root / f).is_dir()]
    if not present:
        raise UserError(f"{root} holds none of the official class folders ({', '.join(folders)}); pass the "
                        "folder that contains anime/, human/, object/, text/, reasoning/ ...")
    models = sorted({p.name for f in present for p in (root / f).iterdir() if p.is_dir()})
    model = o.model_dir or (models[0] if len(models) == 1 else None)
    if model is None:
        raise UserError(f"{root} holds several model folders ({', '.join(models)}); pick one with -O model_dir=NAME")
    records = []
    listing = {f: sorted(p.name for p in (root / f / model).iterdir() if p.is_file()) if (root / f / model).is_dir()
               else [] for f in present}
    for it in suite.items():
        folder, oid = it.metadata["folder"], it.metadata["oneig_id"]
        matches = fnmatch.filter(listing.get(folder, []), oid + "*")
        if len(matches) != 1:
            continue
        records.append({"key": f"external/{it.id}", "item_id": it.id, "index": 0, "status": "ok", "grid": True,
                        "image": str((root / folder / model / matches[0]).resolve()), "seed": None})
    if not records:
        raise UserError(f"no OneIG grid named <id>.<ext> found under {root}/<class>/{model}/")
    suite.options["model_dir"] = model
    return suite, records
