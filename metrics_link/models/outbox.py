from __future__ import annotations

from django.db import models


class OutboxMessage(models.Model):
    """One row per message that leaves the product (mail, Slack post, outgoing hook).

    The row is written in the same transaction as the change it reports, so a committed change
    always has its message; a worker sends it (services/outbox.py) and retries with backoff up to
    OUTBOX_MAX_ATTEMPTS, then marks it failed for the admin. The shape of django-post_office.
    """

    class Channel(models.TextChoices):
        MAIL = "mail", "Mail"
        SLACK = "slack", "Slack"
        HOOK = "hook", "Outgoing hook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    channel = models.CharField(max_length=10, choices=Channel.choices)
    # mail: to, cc, bcc, subject, text, html, headers; slack: text (and blocks); hook: url,
    # headers, body.
    payload = models.JSONField(default=dict)
    dedupe_key = models.CharField(
        max_length=200,
        unique=True,
        help_text="Names the message, so it is recorded once however often its producer runs.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        help_text="When the sweep may next send it if no task did (backoff after a failure)."
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "outbox message"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.dedupe_key}"
