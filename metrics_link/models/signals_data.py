"""Alerts and metric series: what production says about its own health."""

from __future__ import annotations

from django.db import models


class Alert(models.Model):
    class Source(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Alertmanager"
        PAGERDUTY = "pagerduty", "PagerDuty"

    class Severity(models.TextChoices):
        CRITICAL = "critical", "Critical"
        WARNING = "warning", "Warning"
        INFO = "info", "Info"

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    source = models.CharField(max_length=20, choices=Source.choices)
    service = models.ForeignKey(
        "metrics_link.Service", on_delete=models.PROTECT, related_name="alerts"
    )
    name = models.CharField(max_length=300)
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.WARNING)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FIRING)
    labels = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    url = models.URLField(max_length=1000, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=128, unique=True)
    # Groups the rows of one alert across its firing/resolved notifications (fingerprint or PD id).
    group_key = models.CharField(max_length=200, blank=True, db_index=True)
    delivery = models.ForeignKey(
        "metrics_link.WebhookDelivery", null=True, blank=True, on_delete=models.SET_NULL
    )
    received_at = models.DateTimeField(auto_now_add=True)
    # How the sent severity was read, when it was not a known one ("unknown severity 'P9' stored
    # as warning"); set when the alert is stored.
    severity_note = models.CharField(max_length=200, blank=True)
    # Why the alert opened no incident ("severity 'warning' is below the threshold 'critical'"),
    # written by the learning layer when it decides; empty when it opened or joined one.
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["service", "starts_at"], name="alert_service_time_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.severity}, {self.status})"

    @property
    def sent_severity(self) -> str:
        """The severity as the source sent it (Alertmanager's label; PagerDuty's mapped urgency)."""
        if self.source == self.Source.ALERTMANAGER:
            return str(self.labels.get("severity", "")).strip()
        return self.severity

    @property
    def explanation(self) -> str:
        """How its severity was read and why it opened no incident, for the alerts page, the admin
        and its delivery; "" when there is nothing to say."""
        note = self.severity_note
        note = f"{note[:1].upper()}{note[1:]}." if note else ""
        return " ".join(part for part in (note, self.outcome) if part)


class MetricSeries(models.Model):
    class Kind(models.TextChoices):
        BUSINESS = "business", "Business"
        SYSTEM = "system", "System"

    class Aggregation(models.TextChoices):
        SUM = "sum", "Sum (counts, revenue)"
        MEAN = "mean", "Mean (gauges, latency)"

    class BadDirection(models.TextChoices):
        DROP = "drop", "Drop"
        RISE = "rise", "Rise"
        BOTH = "both", "Both"

    name = models.SlugField(max_length=100, unique=True)
    label = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BUSINESS)
    unit = models.CharField(max_length=20, blank=True, help_text='e.g. "$", "logins", "%".')
    aggregation = models.CharField(
        max_length=10, choices=Aggregation.choices, default=Aggregation.SUM
    )
    service = models.ForeignKey(
        "metrics_link.Service",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="metric_series",
        help_text="Empty for company-wide series.",
    )
    # The immune system: a watched series judges production deploys (company-wide ones every
    # deploy, a service's own its deploys); see metrics_link/judge.py.
    watched = models.BooleanField(
        default=False, help_text="Judge production deploys against this series."
    )
    bad_direction = models.CharField(
        max_length=10,
        choices=BadDirection.choices,
        default=BadDirection.DROP,
        help_text="Which way is bad: logins drop, latency rises.",
    )
    critical = models.BooleanField(
        default=False, help_text="A failure of this series alone makes the deploy regressed."
    )
    min_change = models.FloatField(
        default=0.05, help_text="The smallest relative change that matters (0.05 = 5%)."
    )
    promql = models.TextField(
        blank=True,
        help_text="A PromQL query read from PROMETHEUS_URL instead of the points pushed here.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "metric series"

    def __str__(self) -> str:
        return self.label or self.name


class MetricPoint(models.Model):
    series = models.ForeignKey(MetricSeries, on_delete=models.CASCADE, related_name="points")
    ts = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        ordering = ["series", "ts"]
        constraints = [
            # Also the index every time-window read uses: (series, ts) range scans.
            models.UniqueConstraint(fields=["series", "ts"], name="metric_point_unique_ts")
        ]

    def __str__(self) -> str:
        return f"{self.series_id}@{self.ts:%Y-%m-%d %H:%M}={self.value}"
