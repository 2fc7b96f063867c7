"""The common shape of the models behind a scorer (GenEval's detector and colour classifier, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class ModelBackend(ABC):
    """A model a scorer consults: what decides its outputs, what to prefetch, and a lazy load."""

    name = "backend"

    @abstractmethod
    def settings(self) -> dict[str, Any]: ...

    def fingerprint(self) -> dict[str, Any]:
        """What decides the outputs (for the scorer fingerprint): default = `settings()`."""
        return self.settings()

    def downloads(self) -> list[dict[str, Any]] | None:
        """Hub snapshots to prefetch (None: fetched some other way, e.g. by its library on first load)."""
        return None

    def load(self) -> None:
        """Load weights (idempotent)."""
