"""Moved to `lensbench.clients.openai_chat` (below rewriters and scorers in the layer order); this name stays
importable for code written against it."""

from lensbench.clients.openai_chat import *  # noqa: F401,F403
from lensbench.clients.openai_chat import __all__  # noqa: F401
