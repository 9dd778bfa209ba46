from __future__ import annotations

from django.db import models


class WebhookDelivery(models.Model):
    """One row per request received, stored before processing so nothing accepted is ever lost."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    provider = models.CharField(max_length=20)
    key = models.CharField(max_length=200, help_text="Delivery key, unique per provider.")
    event = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "key"], name="delivery_key_unique_per_provider"
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="delivery_status_idx")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event or '?'}:{self.key}"
