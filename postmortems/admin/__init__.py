"""Admin of the learning layer, one module per feature."""

from . import core, documents, reviews  # noqa: F401
