"""Postmortem documents: the draft, its review trail and its immutable published versions.

Search (decision): `PostmortemVersion.search_vector` is a `SearchVectorField` (column type
`tsvector`; SQLite accepts any declared type, so the model stays portable). It is filled only on
PostgreSQL, by the publish service, and its GIN index is created by a vendor-guarded RunPython in
this feature's migration. On SQLite the column stays NULL and search falls back to icontains.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

# Section keys, in document order. Generated sections come from the incident's data; written
# sections are the team's own words.
GENERATED_SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("timeline", "Timeline"),
    ("suspects", "Suspect deploys"),
    ("whys", "Why it happened"),
    ("actions", "Action items"),
)
WRITTEN_SECTIONS: tuple[tuple[str, str], ...] = (
    ("went_well", "What went well"),
    ("went_poorly", "What went poorly"),
    ("lucky", "Where we got lucky"),
    ("surprised", "What surprised us"),
    ("lessons", "Lessons"),
)
SECTIONS: tuple[tuple[str, str], ...] = GENERATED_SECTIONS + WRITTEN_SECTIONS
SECTION_TITLES: dict[str, str] = dict(SECTIONS)
GENERATED_KEYS: frozenset[str] = frozenset(k for k, _ in GENERATED_SECTIONS)

DEFAULT_HELP: dict[str, str] = {
    "summary": "Two or three sentences anyone in the company understands: what broke, for whom, how long.",
    "impact": "What users and the business saw, with numbers: durations, errors, money, sign-ups.",
    "timeline": "The moments that mattered. Starred timeline entries come first.",
    "suspects": "Deploys that preceded the incident and what the responders concluded about each.",
    "whys": "The why tree: each answer became the next question. Systems and conditions, not people.",
    "actions": "What we will change, who owns it and by when. One fix at every level, in proportion.",
    "went_well": "What worked: alerts that fired, runbooks that helped, people who jumped in.",
    "went_poorly": "Where the system, tools or process made the response harder than it should be.",
    "lucky": "What saved us this time that we cannot count on next time.",
    "surprised": "What nobody expected: behaviour, dependencies, limits we did not know about.",
    "lessons": "What the rest of the company should take away, in plain words.",
}


class PostmortemTemplate(models.Model):
    """Help text per section shown in the editor; admins edit the default one."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    help_texts = models.JSONField(
        default=dict, blank=True, help_text="{section key: help text}; missing keys use built-ins."
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_postmortem_template",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def help_for(self, key: str) -> str:
        return (self.help_texts or {}).get(key) or DEFAULT_HELP.get(key, "")


class Postmortem(models.Model):
    """One per incident. `sections` is the current draft; published text lives in versions."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    incident = models.OneToOneField(
        "postmortems.Incident", on_delete=models.CASCADE, related_name="postmortem"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    sections = models.JSONField(default=dict, help_text="{section key: Markdown}")
    # Generated sections the team changed by hand: regeneration never touches these.
    edited_sections = models.JSONField(default=list, blank=True)
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="postmortems_to_review"
    )
    # Review round: bumped when a published postmortem is edited again; approvals count per round.
    round = models.PositiveIntegerField(default=1)
    # Bumped by every change of the text (like a why node's): a save names the version it read, so
    # two editors never overwrite each other silently (services.documents.save_draft).
    version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    blameless_override_reason = models.TextField(blank=True)
    latest_version = models.ForeignKey(
        "postmortems.PostmortemVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[reviewers])

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Postmortem of #{self.incident_id}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:postmortem-detail", args=[self.incident_id])

    def editor_url(self) -> str:
        return reverse("postmortems:postmortem-editor", args=[self.incident_id])


class PostmortemEvent(models.Model):
    """Who did what, when: every step of the review workflow, with its comment."""

    class Kind(models.TextChoices):
        CREATED = "created", "Draft generated"
        EDITED = "edited", "Edited"
        REVIEWERS = "reviewers", "Reviewers changed"
        SUBMITTED = "submitted", "Submitted for review"
        OVERRIDE = "override", "Blameless warnings overridden"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        PUBLISHED = "published", "Published"
        REOPENED = "reopened", "New draft after publishing"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    round = models.PositiveIntegerField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["postmortem", "round", "kind"], name="pm_event_round_idx")]

    def __str__(self) -> str:
        return f"{self.postmortem_id} r{self.round} {self.kind}"


class PostmortemVersion(models.Model):
    """An immutable published snapshot. Only `search_vector` may be written after creation."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    markdown = models.TextField()
    html = models.TextField()
    # Search fields: summary + lessons weigh more than the rest of the body.
    summary_text = models.TextField(blank=True)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "number"], name="one_version_number")
        ]
        indexes = [
            # Library, feed and home panel: newest first, ORDER BY published_at DESC, id DESC.
            models.Index(fields=["published_at", "id"], name="pm_version_published_id_idx")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"

    def save(self, *args, **kwargs):
        # Immutability guard: a published snapshot is never rewritten (only its search vector).
        if self.pk and set(kwargs.get("update_fields") or ()) != {"search_vector"}:
            raise ValueError("A published postmortem version is immutable.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse(
            "postmortems:postmortem-version", args=[self.postmortem.incident_id, self.number]
        )
