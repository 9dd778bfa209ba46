"""The sweep: publish again what a broker outage (or a dead worker) left pending.

Run by Celery beat every minute, once when a worker starts, and by the embedded run's ticker.
It only publishes tasks; processing is idempotent, so a row published twice is done once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import WebhookDelivery
from ..queue import publish
from .outbox import due_message_ids
from .watch import due_watch_deploy_ids

# A delivery that keeps failing transiently is left to the admin's "Reprocess" after this many.
DELIVERY_MAX_SWEEPS = 20


@dataclass
class SweepResult:
    deliveries: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    watches: list[int] = field(default_factory=list)  # deploy ids whose watch is due
    published: bool = True  # False when the broker refused at least one publish

    def summary(self) -> str:
        return (
            f"re-enqueued {len(self.deliveries)} webhook delivery(ies), "
            f"{len(self.messages)} outbox message(s), {len(self.watches)} deploy watch(es)"
            + ("" if self.published else " (broker unavailable: will retry)")
        )


def stale_delivery_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    older = (now or timezone.now()) - timedelta(seconds=settings.PENDING_SWEEP_SECONDS)
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.RECEIVED,
            received_at__lte=older,
            attempts__lt=DELIVERY_MAX_SWEEPS,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


def sweep_pending(*, now: datetime | None = None) -> SweepResult:
    # a cycle at the top: tasks imports this module
    from ..tasks import judge_deploy_task, process_delivery_task, send_outbox_message_task

    now = now or timezone.now()
    result = SweepResult(deliveries=stale_delivery_ids(now=now), messages=due_message_ids(now=now))
    for pk in result.deliveries:
        result.published &= publish(process_delivery_task, pk)
    for pk in result.messages:
        result.published &= publish(send_outbox_message_task, pk)
    result.watches = due_watch_deploy_ids(now=now)
    for pk in result.watches:
        result.published &= publish(judge_deploy_task, pk)
    return result
