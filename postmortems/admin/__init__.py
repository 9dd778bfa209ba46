"""Admin of the learning layer, one module per feature."""

from . import alerts, core, documents, reviews  # noqa: F401
