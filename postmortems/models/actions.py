from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from .soft_delete import SoftDeleteQuerySet


class ActionItem(models.Model):
    CLOSED_STATUSES = ("done", "wont_do")

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    class Priority(models.TextChoices):
        P1 = "p1", "P1"
        P2 = "p2", "P2"
        P3 = "p3", "P3"
        P4 = "p4", "P4"

    class Type(models.TextChoices):
        PREVENT = "prevent", "Prevent"
        DETECT = "detect", "Detect"
        MITIGATE = "mitigate", "Mitigate"
        PROCESS = "process", "Process"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    incident = models.ForeignKey(
        "postmortems.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    why_node = models.ForeignKey(
        "postmortems.WhyNode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    retrospective = models.ForeignKey(
        "postmortems.Retrospective",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    team = models.ForeignKey(
        "metrics_link.Team", on_delete=models.PROTECT, related_name="action_items"
    )
    due_on = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P2)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.PREVENT)
    estimated_hours = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    actual_hours = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    ticket_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    verification_note = models.TextField(blank=True)
    wont_do_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SoftDeleteQuerySet["ActionItem"].as_manager()

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="action_status_due_idx"),
            models.Index(fields=["owner", "status"], name="action_owner_status_idx"),
            # A team's open items by due date (the manager's overdue list, the team filter).
            models.Index(fields=["team", "status", "due_on"], name="action_team_status_due_idx"),
            # Every list's default order (due_on, id): a page of the API/tracker stops after 50.
            models.Index(fields=["due_on", "id"], name="action_due_id_idx"),
            # The weekly review's opened / closed counts of a week.
            models.Index(fields=["created_at"], name="action_created_idx"),
            models.Index(fields=["closed_at"], name="action_closed_idx"),
            # A team's open items by due date, without the closed ones (the overdue list).
            models.Index(
                fields=["team", "due_on", "id"],
                condition=Q(status__in=["open", "in_progress"], is_deleted=False),
                name="action_team_open_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:action-detail", args=[self.pk])

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES


class ReminderSent(models.Model):
    """One row per (item, kind, period): the database, not the scheduler, makes a reminder single."""

    class Kind(models.TextChoices):
        DUE = "due", "Due today"
        ESCALATED = "escalated", "Escalated to the manager"
        FLAGGED = "flagged", "Flagged for the weekly review"

    action_item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    period = models.CharField(max_length=20, help_text="The due date the reminder is about (ISO).")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["action_item", "kind", "period"], name="reminder_once_per_item_kind_period"
            )
        ]
        indexes = [
            # The scan's re-send of stale unsent rows reads only the few unsent ones.
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="reminder_unsent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action_item_id}:{self.kind}:{self.period}"
