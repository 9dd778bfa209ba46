"""Celery tasks of the documents feature: thin adapters (ids in, service call, retries)."""

from __future__ import annotations

from smtplib import SMTPException
from urllib.error import URLError

from celery import shared_task

__all__ = ["notify_reviewers_task", "post_to_slack_task", "send_publication_email_task"]


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=6,
)
def send_publication_email_task(version_id: int) -> int:
    from ..services.documents import send_publication_email

    return send_publication_email(version_id=version_id)


@shared_task(
    acks_late=True,
    autoretry_for=(URLError, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def post_to_slack_task(version_id: int) -> bool:
    from ..services.documents import post_to_slack

    return post_to_slack(version_id=version_id)


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, URLError, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=6,
)
def notify_reviewers_task(postmortem_id: int) -> int:
    from ..services.documents import notify_reviewers

    return notify_reviewers(postmortem_id=postmortem_id)
