"""Admin of the learning layer, one module per feature."""

from . import actions, core, documents, reviews  # noqa: F401
