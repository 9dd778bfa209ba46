"""The one Slack builder: a message for SLACK_WEBHOOK_URL (an incoming webhook), if set.

Posting is the outbox's job (metrics_link/services/outbox.py reads the URL at send time, so the
secret is never stored in a row); here a text becomes an outbox row.
"""

from __future__ import annotations

from django.conf import settings

from metrics_link.models import OutboxMessage
from metrics_link.services.outbox import queue_message


def slack_payload(text: str) -> dict:
    return {"text": text}


def queue_slack(text: str, *, dedupe_key: str) -> OutboxMessage | None:
    """Queue `text` for Slack (once per dedupe key); None when Slack is not configured."""
    if not settings.SLACK_WEBHOOK_URL:
        return None
    row, _ = queue_message(
        channel=OutboxMessage.Channel.SLACK, payload=slack_payload(text), dedupe_key=dedupe_key
    )
    return row
