"""The one way work is handed to the broker: after commit, and never fatal.

"Accepted means kept and done" (ARCHITECTURE): what a request committed (a webhook delivery, an
outbox message) is a row first; publishing a task for it is only a hint to do it now. If the
broker is down the hint is lost, the row stays pending and the sweep (beat every minute, and the
worker's start-up) publishes it again. So a failed publish is logged and swallowed: the request
that committed the row still succeeds, quickly (settings: short connect timeout, no publish
retries).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)

# What a broker outage looks like from a publish: kombu wraps connection errors in its
# OperationalError; redis-py's errors (and plain socket errors) can escape it on some paths.
try:  # redis is a dependency in production; keep this importable without it
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = KombuOperationalError  # type: ignore[misc,assignment]

BROKER_ERRORS: tuple[type[BaseException], ...] = (
    KombuOperationalError,
    RedisError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def publish(task: Task, *args: Any, countdown: float | None = None) -> bool:
    """Publish `task(*args)` now. Returns False (and logs) when the broker cannot be reached."""
    try:
        if countdown:
            task.apply_async(args=args, countdown=countdown)
        else:
            task.apply_async(args=args)
    except BROKER_ERRORS as exc:
        # Never echo more than the error's type: the row is pending and the sweep will retry.
        logger.warning(
            "broker unavailable: %s%r not published (%s); the sweep will pick it up",
            getattr(task, "name", task),
            args,
            type(exc).__name__,
        )
        return False
    return True


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """After the current transaction commits, publish `task(*args)`; a broker outage is logged,
    not raised (the row it points at stays pending for the sweep)."""
    transaction.on_commit(lambda: publish(task, *args))


def broker_status() -> str:
    """ "ok", "down", or "in-process" (no broker: the embedded run's eager mode). For /healthz:
    one short connection attempt (the broker timeouts in settings), never the error's text."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            conn.default_channel  # noqa: B018 (opening the channel pings Redis)
    except Exception as exc:  # any failure means down; logged by type only
        logger.warning("healthz: broker unavailable (%s)", type(exc).__name__)
        return "down"
    return "ok"
