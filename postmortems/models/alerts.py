"""Which alerts belong to which incident (alerts themselves live in metrics_link: they belong to
services; an incident gathers the ones that fired while it was open)."""

from __future__ import annotations

from django.db import models


class IncidentAlert(models.Model):
    incident = models.ForeignKey(
        "postmortems.Incident", on_delete=models.CASCADE, related_name="alert_links"
    )
    alert = models.ForeignKey(
        "metrics_link.Alert", on_delete=models.CASCADE, related_name="incident_links"
    )
    # True for the alert that opened the incident (the incident's origin is then "alert").
    opened = models.BooleanField(default=False)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alert__starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "alert"], name="incident_alert_once")
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} ← alert {self.alert_id}"
