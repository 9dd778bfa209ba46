"""Celery tasks of the actions feature: thin adapters (ids in, a service call, retries here).

Delivery options that make "no reminder lost when a worker dies" hold: acks_late (the message
is acknowledged after the task ran), reject_on_worker_lost (a killed child puts it back), the
broker's visibility timeout (settings; Redis redelivers an unacknowledged message after it) and
retries with exponential backoff for transient failures (mail server, Slack).
"""

from __future__ import annotations

from celery import shared_task

from ..services import reminders

__all__ = ["send_digest_task", "send_reminder_task", "send_reminders_task"]

DELIVERY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(name="postmortems.tasks.actions.send_reminders_task", acks_late=True)
def send_reminders_task() -> str:
    """The periodic scan (beat, every 5 minutes): record what is due, enqueue the sends."""
    return reminders.scan_reminders().summary()


@shared_task(name="postmortems.tasks.actions.send_reminder_task", **DELIVERY)
def send_reminder_task(reminder_id: int) -> bool:
    return reminders.send_reminder(reminder_id=reminder_id)


@shared_task(name="postmortems.tasks.actions.send_digest_task", **DELIVERY)
def send_digest_task(user_id: int) -> int:
    return reminders.send_digest(user_id=user_id, cutoff=reminders.digest_cutoff())
