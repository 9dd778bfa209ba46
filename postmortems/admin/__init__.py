"""Admin of the learning layer, one module per feature."""

from . import actions, alerts, core, documents, reviews  # noqa: F401
