"""Thin Celery adapters of the learning layer, one module per feature (ids in, service call, retries)."""

from .actions import *  # noqa: F403
from .documents import *  # noqa: F403
from .reviews import *  # noqa: F403
