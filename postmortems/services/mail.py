"""The one way emails are built: a text body and an HTML alternative from `<template>.txt/.html`."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


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
