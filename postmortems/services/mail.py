"""The one way emails are built: a text body and an HTML alternative from `<template>.txt/.html`.

Mails are not sent from here: `queue_mail` turns a built message into an outbox row
(metrics_link/services/outbox.py), which a worker sends, retries and reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from metrics_link.models import OutboxMessage
from metrics_link.services.outbox import queue_message


def templated_email(
    *,
    subject: str,
    template: str,
    context: dict,
    to: Sequence[str] = (),
    bcc: Sequence[str] = (),
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> EmailMultiAlternatives:
    """Build (not send) an email. `html` overrides the rendered HTML when a caller post-processes it."""
    message = EmailMultiAlternatives(
        subject=subject[:200],
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        bcc=list(bcc),
        headers=headers or {},
    )
    message.attach_alternative(
        html if html is not None else render_to_string(f"{template}.html", context), "text/html"
    )
    return message


def mail_payload(message: EmailMultiAlternatives) -> dict:
    """The outbox payload of a built message (JSON: what the sender needs to rebuild it)."""
    html = next((body for body, mime in message.alternatives if mime == "text/html"), "")
    return {
        "subject": message.subject,
        "text": message.body,
        "html": html,
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "headers": dict(message.extra_headers),
    }


def queue_mail(message: EmailMultiAlternatives, *, dedupe_key: str) -> OutboxMessage:
    """Put a built message in the outbox (once per dedupe key); it is sent after commit."""
    row, _ = queue_message(
        channel=OutboxMessage.Channel.MAIL, payload=mail_payload(message), dedupe_key=dedupe_key
    )
    return row
