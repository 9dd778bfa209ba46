from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Commit(models.Model):
    repository = models.CharField(max_length=200, help_text='"owner/name"')
    sha = models.CharField(max_length=64)
    author = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)
    # Order in which commits reached us per repository (push order), used to find the commits
    # between two deployed shas when a deploy does not list its own.
    push_seq = models.BigIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["repository", "push_seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "sha"], name="commit_unique_per_repository"
            )
        ]
        indexes = [models.Index(fields=["repository", "push_seq"], name="commit_repo_seq_idx")]

    def __str__(self) -> str:
        return f"{self.repository}@{self.sha[:8]}"

    @property
    def short_sha(self) -> str:
        return self.sha[:8]

    @property
    def title(self) -> str:
        return (self.message or "").strip().splitlines()[0] if self.message.strip() else ""


class Deploy(models.Model):
    class Status(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    class Provider(models.TextChoices):
        GITHUB = "github", "GitHub"
        GITLAB = "gitlab", "GitLab"
        API = "api", "API"
        CLI = "cli", "Command line"

    service = models.ForeignKey(
        "metrics_link.Service", on_delete=models.PROTECT, related_name="deploys"
    )
    environment = models.CharField(max_length=100, default="production")
    repository = models.CharField(max_length=200, blank=True)
    sha = models.CharField(max_length=64, blank=True)
    version = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUCCESS)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField()
    # When the provider says the current status was reached (a webhook's own timestamp, else the
    # moment we recorded it): statuses arrive out of order, and only a newer one replaces it.
    status_at = models.DateTimeField(null=True, blank=True)
    deployer = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.API)
    external_id = models.CharField(max_length=200, blank=True)
    commits = models.ManyToManyField(
        Commit, through="DeployCommit", related_name="deploys", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-finished_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~Q(external_id=""),
                name="deploy_external_id_unique_per_provider",
            )
        ]
        indexes = [
            # Suspects and DORA read production deploys in a time window.
            models.Index(fields=["environment", "finished_at"], name="deploy_env_time_idx"),
            models.Index(
                fields=["service", "environment", "finished_at"], name="deploy_svc_env_time_idx"
            ),
            # The deploy list (page and API), newest first: ORDER BY finished_at DESC, id DESC.
            models.Index(fields=["finished_at", "id"], name="deploy_finished_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id}:{self.version or self.sha[:8]} → {self.environment}"

    def get_absolute_url(self) -> str:
        return reverse("metrics_link:deploy-detail", args=[self.pk])

    @property
    def short_sha(self) -> str:
        return self.sha[:8]

    @property
    def is_production(self) -> bool:
        return self.environment in settings.PRODUCTION_ENVIRONMENTS


class DeployCommit(models.Model):
    deploy = models.ForeignKey(Deploy, on_delete=models.CASCADE, related_name="deploy_commits")
    commit = models.ForeignKey(Commit, on_delete=models.CASCADE, related_name="deploy_commits")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["deploy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["deploy", "commit"], name="deploy_commit_unique")
        ]

    def __str__(self) -> str:
        return f"{self.deploy_id}#{self.position}: {self.commit_id}"


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` seen on `POST /api/deploys/`: a retry returns the first result."""

    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=50, default="deploys")
    request_hash = models.CharField(max_length=64)
    deploy = models.ForeignKey(Deploy, null=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
