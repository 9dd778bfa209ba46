from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from .soft_delete import SoftDeleteQuerySet


class WhyNode(models.Model):
    class Category(models.TextChoices):
        CODE = "code", "Code"
        INFRASTRUCTURE = "infrastructure", "Infrastructure"
        PROCESS = "process", "Process"
        TOOLING = "tooling", "Tooling"
        KNOWLEDGE = "knowledge", "Knowledge"
        EXTERNAL = "external", "External"

    incident = models.ForeignKey(
        "postmortems.Incident", on_delete=models.CASCADE, related_name="why_nodes"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    level = models.PositiveSmallIntegerField(help_text="1 answers why the impact happened.")
    question = models.TextField()
    answer = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    evidence_links = models.JSONField(default=list, blank=True)
    accepted_risk_reason = models.TextField(blank=True)
    stop_reason = models.TextField(blank=True)
    # Optimistic locking: every write checks and bumps the version of this node only.
    version = models.PositiveIntegerField(default=1)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SoftDeleteQuerySet["WhyNode"].as_manager()

    history = HistoricalRecords()

    class Meta:
        ordering = ["incident", "level", "id"]
        indexes = [models.Index(fields=["incident", "is_deleted"], name="why_incident_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id} L{self.level}: {self.answer[:40]}"
