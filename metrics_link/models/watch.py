"""The immune system's verdict on one production deploy (metrics_link/judge.py decides it)."""

from __future__ import annotations

from django.db import models


class DeployWatch(models.Model):
    class Status(models.TextChoices):
        WATCHING = "watching", "Watching"
        HEALTHY = "healthy", "Healthy"
        MARGINAL = "marginal", "Marginal"
        REGRESSED = "regressed", "Regressed"
        NO_DATA = "no_data", "No data"

    deploy = models.OneToOneField(
        "metrics_link.Deploy", on_delete=models.CASCADE, related_name="watch"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WATCHING)
    # When the window after the deploy has passed: the sweep judges every watch due and undecided.
    due_at = models.DateTimeField(db_index=True)
    score = models.FloatField(null=True, blank=True, help_text="% of judged metrics that passed.")
    # One entry per watched metric: name, passed, critical, bad_direction, baseline_median,
    # after_median, change, p_value, reason (metrics_link/judge.py: MetricResult).
    results = models.JSONField(default=list, blank=True)
    windows = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_at"]

    def __str__(self) -> str:
        return f"watch of deploy {self.deploy_id}: {self.status}"

    @property
    def decided(self) -> bool:
        return self.status != self.Status.WATCHING
