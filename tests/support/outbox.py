"""Test helper: run the outbox the way the worker would (tests never switch on eager mode)."""

from __future__ import annotations

from metrics_link.models import OutboxMessage
from metrics_link.services.outbox import send_message


def deliver_outbox() -> int:
    """Send every pending outbox message once, oldest first. Returns how many were sent."""
    ids = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).order_by("pk")
    return sum(send_message(message_id=pk) for pk in list(ids.values_list("pk", flat=True)))
