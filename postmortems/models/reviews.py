"""Models of the reviews feature: retrospectives, weekly business reviews, experiments and
recurrences (did a fix prevent the cause from coming back?)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from .soft_delete import SoftDeleteQuerySet


class Retrospective(models.Model):
    team = models.ForeignKey(
        "metrics_link.Team", on_delete=models.PROTECT, related_name="retrospectives"
    )
    name = models.CharField(max_length=200, help_text='e.g. "Sprint 48".')
    sprint_start = models.DateField()
    sprint_end = models.DateField()
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField(blank=True, help_text="Markdown. What the team takes away.")
    published = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SoftDeleteQuerySet["Retrospective"].as_manager()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-sprint_end", "team__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sprint_end__gte=models.F("sprint_start")),
                name="retro_sprint_end_after_start",
            )
        ]
        indexes = [models.Index(fields=["team", "sprint_end"], name="retro_team_end_idx")]

    def __str__(self) -> str:
        return f"{self.team} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:retro-detail", args=[self.pk])


class RetroItem(models.Model):
    class Column(models.TextChoices):
        START = "start", "Start doing"
        STOP = "stop", "Stop doing"
        CONTINUE = "continue", "Continue"
        LEARNED = "learned", "What we learned"

    retrospective = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="items")
    column = models.CharField(max_length=10, choices=Column.choices)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SoftDeleteQuerySet["RetroItem"].as_manager()

    history = HistoricalRecords()

    class Meta:
        ordering = ["retrospective", "column", "id"]

    def __str__(self) -> str:
        return f"{self.column}: {self.text[:40]}"


class RetroVote(models.Model):
    item = models.ForeignKey(RetroItem, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="retro_one_vote_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.item_id}"


class WeeklyReview(models.Model):
    """One page per ISO week. `snapshot` holds every figure and the rendered sections, computed
    once as the all-staff view, so the page never changes under its readers."""

    iso_week = models.CharField(max_length=8, unique=True, help_text='e.g. "2026-W48".')
    week_start = models.DateField(help_text="The Monday of the week.")
    generated_at = models.DateTimeField()
    snapshot = models.JSONField(default=dict)
    published = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Weekly review {self.iso_week}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:review-detail", args=[self.iso_week])

    @property
    def week_end(self):
        """The Sunday of the week."""
        return self.week_start + timedelta(days=6)


class Experiment(models.Model):
    name = models.CharField(max_length=200, unique=True)
    hypothesis = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    control_trials = models.PositiveIntegerField(default=0)
    control_conversions = models.PositiveIntegerField(default=0)
    experiment_trials = models.PositiveIntegerField(default=0)
    experiment_conversions = models.PositiveIntegerField(default=0)
    split = models.FloatField(
        default=0.5, help_text="Share of traffic in the experiment arm (0.5 = a 50/50 split)."
    )
    decision = models.TextField(blank=True)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(control_conversions__lte=models.F("control_trials"))
                & Q(experiment_conversions__lte=models.F("experiment_trials")),
                name="experiment_conversions_within_trials",
            ),
            models.CheckConstraint(
                condition=Q(split__gt=0) & Q(split__lt=1), name="experiment_split_between_0_and_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Recurrence(models.Model):
    """`incident` shows again the cause (service + why category) of `earlier`, whose corrective
    actions were all done. Only a person's confirmation says the earlier fixes did not work."""

    class Status(models.TextChoices):
        SUGGESTED = "suggested", "Suggested"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"

    incident = models.ForeignKey(
        "postmortems.Incident", on_delete=models.CASCADE, related_name="recurrences"
    )
    earlier = models.ForeignKey(
        "postmortems.Incident", on_delete=models.CASCADE, related_name="recurred_as"
    )
    service = models.ForeignKey("metrics_link.Service", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUGGESTED)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "earlier"], name="recurrence_once_per_pair")
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} recurs #{self.earlier_id} ({self.status})"
