"""Inbound webhooks: store first, process after commit, re-run on demand.

`receive_delivery` is idempotent on (provider, key): a redelivery answers 2xx and changes nothing
(a redelivery of a key still pending — its first publish was lost to a broker outage — publishes
it again). The sweep (services/sweep.py) publishes pending deliveries again after a minute.
`process_delivery` dispatches to the provider's processor; failures are kept with their error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from ..models import WebhookDelivery
from ..queue import enqueue_on_commit
from ..webhooks import alertmanager, pagerduty
from .alerts import process_alertmanager, process_pagerduty
from .deploys import process_github, process_gitlab

logger = logging.getLogger(__name__)

# provider → processor(delivery) → status ("processed" or "ignored"). Raising marks it failed.
PROCESSORS: dict[str, Callable[[WebhookDelivery], str]] = {
    "github": process_github,
    "gitlab": process_gitlab,
    alertmanager.SOURCE: process_alertmanager,
    pagerduty.SOURCE: process_pagerduty,
}


KEY_MAX_LENGTH = 200  # WebhookDelivery.key
KEY_TOO_LONG = "The delivery id is longer than {limit} characters; no provider sends such ids."


class DeliveryKeyError(ValueError):
    """A delivery key the table cannot hold whole (the view answers 400, nothing is stored)."""


class TransientError(Exception):
    """A processing failure worth retrying (database busy, lock timeout). Others are final."""


def receive_delivery(
    *, provider: str, key: str, event: str, headers: dict[str, str], body: bytes
) -> tuple[WebhookDelivery, bool]:
    """Store a verified request under its delivery key; enqueue its processing on commit.

    Returns (delivery, accepted). accepted is True when this request put the delivery on its way
    to processing: stored now, or stored earlier and still `received` (its processing was never
    published or never ran, e.g. the broker was down), which is published again. A key already
    processed (or failed, or ignored) returns the stored row, False, and enqueues nothing.
    """
    from ..tasks import process_delivery_task  # a cycle at the top: tasks imports this module

    if len(key) > KEY_MAX_LENGTH:  # stored cut, it would never be found again: refuse it
        raise DeliveryKeyError(KEY_TOO_LONG.format(limit=KEY_MAX_LENGTH))
    existing = WebhookDelivery.objects.filter(provider=provider, key=key).first()
    if existing:
        if existing.status == WebhookDelivery.Status.RECEIVED:
            # Processing is idempotent: if the first publish did get through, running twice
            # changes nothing more.
            enqueue_on_commit(process_delivery_task, existing.pk)
            return existing, True
        return existing, False
    try:
        # Two concurrent deliveries of the same key race to this insert; the unique constraint
        # lets exactly one win, and the loser returns the winner's row.
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                provider=provider, key=key[:200], event=event[:100], headers=headers, body=body
            )
            enqueue_on_commit(process_delivery_task, delivery.pk)
    except IntegrityError:
        # The concurrent winner stored it and enqueues it: this request is accepted too.
        winner = WebhookDelivery.objects.get(provider=provider, key=key)
        return winner, winner.status == WebhookDelivery.Status.RECEIVED
    return delivery, True


def process_delivery(*, delivery_id: int, only_if_pending: bool = False) -> WebhookDelivery | None:
    """Run the provider's processor once. Safe to repeat: processors upsert on natural keys.

    `only_if_pending` (the task's way): a delivery already processed, failed or ignored is left
    as it is, so the sweep's and a redelivery's extra tasks are no-ops. The admin's "Reprocess"
    runs it again on purpose."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:  # a task outliving its row (never in production: rows are kept)
        logger.warning("webhook delivery %s does not exist; nothing to process", delivery_id)
        return None
    if only_if_pending and delivery.status != WebhookDelivery.Status.RECEIVED:
        return delivery
    processor = PROCESSORS.get(delivery.provider)
    delivery.attempts += 1
    if processor is None:
        delivery.status = WebhookDelivery.Status.IGNORED
        delivery.error = f"No processor for provider {delivery.provider!r}."
    else:
        try:
            with transaction.atomic():
                delivery.status = processor(delivery)
                delivery.error = ""
        except (TransientError, OperationalError) as exc:
            delivery.error = f"retrying: {type(exc).__name__}: {exc}"[:5000]
            delivery.save(update_fields=["attempts", "error"])
            raise TransientError(str(exc)) from exc
        except Exception as exc:  # a bad payload must not lose the delivery: keep the error
            logger.warning("webhook %s failed: %s", delivery, exc, exc_info=True)
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.error = f"{type(exc).__name__}: {exc}"[:5000]
    delivery.processed_at = timezone.now()
    delivery.save(update_fields=["status", "error", "attempts", "processed_at"])
    return delivery


def reprocess_deliveries(*, deliveries: Iterable[WebhookDelivery]) -> int:
    """Admin action: process again (e.g. after a fix). Returns how many were re-run."""
    count = 0
    for delivery in deliveries:
        process_delivery(delivery_id=delivery.pk)
        count += 1
    return count
