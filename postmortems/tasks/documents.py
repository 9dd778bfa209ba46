"""Celery tasks of the documents feature (compatibility adapters).

Publishing now writes its mail and Slack message to the outbox in its own transaction
(metrics_link.tasks.send_outbox_message_task sends them). These tasks remain so messages already
in a broker queue when this version is deployed still do their work: they queue the outbox rows
(once per version, by dedupe key) instead of sending.
"""

from __future__ import annotations

from celery import shared_task

from ..services.publishing import queue_publication_email, queue_publication_slack

__all__ = ["post_to_slack_task", "send_publication_email_task"]


@shared_task(acks_late=True)
def send_publication_email_task(version_id: int) -> int:
    return queue_publication_email(version_id=version_id)


@shared_task(acks_late=True)
def post_to_slack_task(version_id: int) -> bool:
    return queue_publication_slack(version_id=version_id)
