"""Text-to-image generators: the MODELS registry (pure data) and `make_generator` (lazy adapter import)."""

from __future__ import annotations

from lensbench.generators.base import GenerationRequest, Generator, LoadOptions, ModelSpec
from lensbench.generators.catalog import MODELS
from lensbench.registry import resolve_target


def make_generator(spec: ModelSpec, load: LoadOptions) -> Generator:
    """Instantiate the spec's adapter (imports the adapter module only now)."""
    return resolve_target(spec.adapter)(spec, load)


__all__ = ["MODELS", "GenerationRequest", "Generator", "LoadOptions", "ModelSpec", "make_generator"]
