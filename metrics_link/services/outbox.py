"""The outbox: every message that leaves the product is a row first, then sent by a worker.

* `queue_message` records the message in the caller's transaction (so it exists exactly when the
  change it reports was committed) under a dedupe key (so a producer that runs twice records it
  once), and publishes its sending after commit.
* `send_message` sends a pending message once and marks it sent, holding the row lock while it
  sends: a second task for the same message (the sweep's re-publish, a broker redelivery) skips
  the locked row and leaves, so two workers never both send. A worker that dies mid-send rolls
  back: the row stays pending and is sent again (at least once, never lost).
* A failed send is retried by the sweep after an exponential backoff (30 s, 1 min, 2 min, …
  capped at OUTBOX_MAX_BACKOFF_SECONDS); after OUTBOX_MAX_ATTEMPTS it is marked failed with its
  error and shown in the admin, where "Retry" queues it again.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import OutboxMessage
from ..queue import enqueue_on_commit

logger = logging.getLogger(__name__)

Channel = OutboxMessage.Channel
Status = OutboxMessage.Status
FIRST_BACKOFF_SECONDS = 30


def queue_message(
    *, channel: str, payload: dict[str, Any], dedupe_key: str
) -> tuple[OutboxMessage, bool]:
    """Record a message to send (once per dedupe key) and publish its sending after commit.

    Returns (message, created). Call it inside the transaction of the change it reports."""
    from ..tasks import send_outbox_message_task  # a cycle at the top: tasks imports this module

    if channel not in Channel.values:
        raise ValueError(f"Unknown outbox channel {channel!r}.")
    now = timezone.now()
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                channel=channel,
                payload=payload,
                dedupe_key=dedupe_key[:200],
                # If the publish after commit is lost (broker down), the sweep sends it then.
                next_attempt_at=now + timedelta(seconds=settings.PENDING_SWEEP_SECONDS),
            )
    except IntegrityError:
        return OutboxMessage.objects.get(dedupe_key=dedupe_key[:200]), False
    enqueue_on_commit(send_outbox_message_task, message.pk)
    return message, True


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s doubling, capped by OUTBOX_MAX_BACKOFF_SECONDS."""
    seconds = FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.OUTBOX_MAX_BACKOFF_SECONDS))


def send_message(*, message_id: int) -> bool:
    """Send one pending message. Returns True when this call sent it."""
    with transaction.atomic():
        # skip_locked: another worker is sending this very message right now; let it.
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=Status.PENDING)
            .first()
        )
        if message is None:
            return False
        message.attempts += 1
        now = timezone.now()
        try:
            SENDERS[message.channel](message.payload)
        except Exception as exc:  # any failure of the outside world: keep it, retry later
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                message.status = Status.FAILED
            else:
                message.next_attempt_at = now + backoff(message.attempts)
            logger.warning(
                "outbox %s attempt %s failed (%s)", message, message.attempts, type(exc).__name__
            )
            message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return False
        message.status = Status.SENT
        message.sent_at = now
        message.save(update_fields=["attempts", "status", "sent_at"])
    return True


@transaction.atomic
def retry_messages(*, messages: Iterable[OutboxMessage]) -> int:
    """Admin "Retry": failed (or stuck pending) messages get a fresh set of attempts, now."""
    from ..tasks import send_outbox_message_task  # a cycle at the top: tasks imports this module

    ids = list(
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages])
        .exclude(status=Status.SENT)
        .values_list("pk", flat=True)
    )
    OutboxMessage.objects.filter(pk__in=ids).update(
        status=Status.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    for pk in ids:
        enqueue_on_commit(send_outbox_message_task, pk)
    return len(ids)


def due_message_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending messages whose next attempt is due (never published, or backing off)."""
    return list(
        OutboxMessage.objects.filter(
            status=Status.PENDING, next_attempt_at__lte=now or timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- senders (one per channel; raise on failure) ----------------------------------------------


def _send_mail(payload: dict[str, Any]) -> None:
    message = EmailMultiAlternatives(
        subject=payload.get("subject", ""),
        body=payload.get("text", ""),
        from_email=payload.get("from_email") or settings.DEFAULT_FROM_EMAIL,
        to=payload.get("to", []),
        cc=payload.get("cc", []),
        bcc=payload.get("bcc", []),
        headers=payload.get("headers") or {},
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    message.send()


def _post_json(url: str, body: bytes, headers: dict[str, str]) -> None:
    if not url.startswith(("https://", "http://")):
        raise ValueError("The target must be an http(s) URL.")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if response.status >= 300:
            raise RuntimeError(f"{url.split('?')[0]} answered {response.status}")


def _send_slack(payload: dict[str, Any]) -> None:
    # The URL is a secret: read from the settings at send time, never stored in the row.
    url = settings.SLACK_WEBHOOK_URL
    if not url:
        raise RuntimeError("SLACK_WEBHOOK_URL is not set.")
    body = {k: payload[k] for k in ("text", "blocks") if k in payload}
    _post_json(url, json.dumps(body).encode(), {})


def _send_hook(payload: dict[str, Any]) -> None:
    body = payload.get("body", "")
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    _post_json(payload["url"], data, payload.get("headers") or {})


SENDERS: dict[str, Callable[[dict[str, Any]], None]] = {
    Channel.MAIL: _send_mail,
    Channel.SLACK: _send_slack,
    Channel.HOOK: _send_hook,
}
