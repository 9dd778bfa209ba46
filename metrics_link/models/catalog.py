from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
        help_text="Receives escalations for the team's overdue action items.",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("metrics_link:team-detail", args=[self.slug])


class ServiceQuerySet(models.QuerySet["Service"]):
    def for_repository(self, repository: str) -> Service | None:
        """The service whose catalog entry lists `repository` ("owner/name"), case-insensitively.

        JSON containment is not portable to SQLite, so the database narrows by text and Python
        checks the exact entry (a catalog holds hundreds of services, not millions).
        """
        wanted = repository.strip().lower()
        if not wanted:
            return None
        for service in self.filter(repositories__icontains=wanted).order_by("id"):
            if wanted in {r.strip().lower() for r in service.repositories or []}:
                return service
        return None


class Service(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    repositories = models.JSONField(
        default=list, blank=True, help_text='Repositories as "owner/name" strings.'
    )
    description = models.TextField(blank=True)
    claimed = models.BooleanField(
        default=True,
        help_text="False for services first seen in a deploy or alert: someone should claim them.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ServiceQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    def get_absolute_url(self) -> str:
        return reverse("metrics_link:service-detail", args=[self.slug])
