"""Suite finalize steps (e.g. DPG-Bench's 2x2 grids) across ranks, kills and resumes.

`suite.finalize_item(run_dir, item, images)` runs once every image of the item is committed. Each rank
finalizes the items whose images all lie in its own shard, as soon as an item's last image is committed (and,
on a resumed run, items that were complete but never finalized). Every finalize is recorded in the stream
``finalize`` with the sha256 of the images it used; a record is valid while those images are unchanged.
Rank 0, once every rank's images are in, finalizes each item without a valid record: items whose images
several ranks made, and items of a rank that was killed between its last image and the finalize step.
With ``verify`` every complete item is finalized again (rebuilding derived files deleted by hand).
Suites that do not override `finalize_item` get no finalize records at all.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lensbench.errors import UserError
from lensbench.runners.plan import WorkItem
from lensbench.store.integrity import record_problem
from lensbench.store.run_store import RunStore
from lensbench.suites.base import Suite

STREAM = "finalize"


class Finalizer:
    def __init__(self, store: RunStore, suite: Suite, batches: list[list[WorkItem]], world_size: int):
        self.store, self.suite = store, suite
        self.active = type(suite).finalize_item is not Suite.finalize_item
        self.works: dict[str, list[WorkItem]] = defaultdict(list)
        self.owners: dict[str, set[int]] = defaultdict(set)
        for i, batch in enumerate(batches):  # round robin over batches, as plan.shard
            for w in batch:
                self.works[w.item.id].append(w)
                self.owners[w.item.id].add(i % world_size)
        for ws in self.works.values():
            ws.sort(key=lambda w: w.index)
        self.valid: set[str] = set()

    def owned(self, item_id: str) -> bool:
        return self.owners[item_id] == {self.store.rank}

    def load_valid(self, records: dict[str, dict[str, Any]]) -> None:
        """Items whose latest finalize record was made from the images now committed."""
        self.valid = set()
        for rec in self.store.records(STREAM):
            works = self.works.get(rec.get("item_id"))
            if works and rec.get("images") == [(records.get(w.key) or {}).get("sha256") for w in works]:
                self.valid.add(rec["item_id"])

    def finalize(self, item_id: str, records: dict[str, dict[str, Any]]) -> None:
        works = self.works[item_id]
        self.suite.finalize_item(self.store.run_dir, works[0].item, [w.image for w in works])
        self.store.append(STREAM, {"key": f"finalize/{item_id}", "status": "ok", "item_id": item_id,
                                   "images": [records[w.key]["sha256"] for w in works], "rank": self.store.rank})
        self.valid.add(item_id)

    def after_commit(self, item_id: str, done: set[str], records: dict[str, dict[str, Any]]) -> None:
        """Called after an image of `item_id` was committed by this rank."""
        if self.active and self.owned(item_id) and all(w.key in done for w in self.works[item_id]):
            self.finalize(item_id, records)

    def own_complete(self, done: set[str], records: dict[str, dict[str, Any]], verify: bool) -> None:
        """Resumed run: finalize this rank's complete items that have no valid record (all of them with verify)."""
        if not self.active:
            return
        self.load_valid(records)
        for item_id, works in self.works.items():
            if self.owned(item_id) and (verify or item_id not in self.valid) and all(w.key in done for w in works):
                self.finalize(item_id, records)

    def merge(self, records: dict[str, dict[str, Any]], verify: bool) -> int:
        """Rank 0, after every rank's images are in (`records`: the ok generation records by key): finalize
        every item without a valid finalize record."""
        if not self.active:
            return 0
        self.load_valid(records)
        n = 0
        for item_id, works in self.works.items():
            if item_id in self.valid:
                continue
            bad = [(w, record_problem(self.store.run_dir, records[w.key], verify=verify) if w.key in records
                    else "no record") for w in works]
            bad = [(w, p) for w, p in bad if p]
            if bad:
                raise UserError(f"{len(bad)} image(s) of item {item_id} are missing or damaged (e.g. {bad[0][0].image}: "
                                f"{bad[0][1]}); re-run the same command to regenerate them")
            self.finalize(item_id, records)
            n += 1
        return n
