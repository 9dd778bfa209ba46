from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, When
from django.urls import reverse
from simple_history.models import HistoricalRecords

from .soft_delete import SoftDeleteQuerySet


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1"
    SEV2 = "sev2", "SEV2"
    SEV3 = "sev3", "SEV3"
    SEV4 = "sev4", "SEV4"


SEVERITY_MEANINGS = {
    "sev1": "Critical: the product is down or data is at risk for many customers.",
    "sev2": "Major: a core feature is broken or badly degraded for many customers.",
    "sev3": "Minor: a feature is degraded for some customers; a workaround exists.",
    "sev4": "Low: cosmetic or internal impact; no customer-facing harm yet.",
}


class Provenance(models.TextChoices):
    HUMAN = "human", "Set by a person"
    ALERT = "alert", "From the first alert"
    DEPLOY = "deploy", "From a deploy"
    IMMUNE = "immune", "From the immune system"


class IncidentQuerySet(SoftDeleteQuerySet["Incident"]):
    def alive(self) -> IncidentQuerySet:
        return self.filter(is_deleted=False)

    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=Incident.OPEN_STATUSES)

    def joinable_for(self, service, at: datetime) -> IncidentQuerySet:
        """THE rule for which incident a new signal of `service` at `at` joins (ARCHITECTURE,
        "Noise is not an incident"): one of its service that is investigating, or mitigated less
        than ALERT_REJOIN_MINUTES before `at`. Best candidate first: investigating before mitigated,
        then the latest started. Used by alerts; deploy verdicts will use it too.
        """
        since = at - timedelta(minutes=settings.ALERT_REJOIN_MINUTES)
        return (
            self.alive()
            .filter(services=service)
            .filter(
                Q(status=Incident.Status.INVESTIGATING)
                | Q(status=Incident.Status.MITIGATED, mitigated_at__gte=since)
            )
            .order_by(
                Case(When(status=Incident.Status.INVESTIGATING, then=0), default=1),
                "-started_at",
                "-pk",
            )
        )

    def visible_to(self, user) -> IncidentQuerySet:
        """THE visibility rule (ARCHITECTURE, "Rules every surface shares"); nothing else decides.

        Public incidents: every signed-in user. Restricted: its people (commander, reporter,
        responders) and superusers. Soft-deleted incidents: nobody.
        """
        qs = self.alive()
        if user is None or not user.is_authenticated or not user.is_active:
            return qs.none()
        if user.is_superuser:
            return qs
        return qs.filter(self._readable_by(user))

    def visible_exists(self, user, ref: str = "incident_id") -> Q:
        """`visible_to(user)` as a condition on another model's rows whose `ref` column points at
        an incident: a correlated EXISTS, i.e. one primary-key probe per candidate row, so a list
        of action items, versions or timeline entries walks its own index and stops at the page
        (issue 15: `incident__in=visible_to(...)` became a hashed sub-plan reading every
        incident). Superusers get the alive incidents only; anonymous readers nothing."""
        return Q(Exists(self.visible_to(user).filter(pk=OuterRef(ref))))

    def visible_to_all_staff(self) -> IncidentQuerySet:
        """What every member of staff may read: `visible_to` for an active employee who is no
        superuser and has no role in any incident, i.e. the public incidents (weekly review)."""
        return self.alive().filter(self._readable_by(None))

    @staticmethod
    def _readable_by(person) -> Q:
        """The rule's condition for an active non-superuser (`None`: one with no incident role)."""
        public = Q(visibility=Incident.Visibility.PUBLIC)
        if person is None:
            return public
        # Expressed so that the rule never scans every incident (issue 15): a public row passes on
        # its own column; a restricted row on its own columns (commander, reporter) or on one
        # probe of the responders' (incident, user) unique index. The old forms, `pk IN (restricted
        # incidents joined to responders)` and then `pk IN (my responder rows)`, were costed so high
        # that PostgreSQL read every incident inside lists, counts and EXISTS of other models.
        responded = Incident.responders.through.objects.filter(
            user=person, incident_id=OuterRef("pk")
        )
        mine = Q(commander=person) | Q(reporter=person) | Q(Exists(responded))
        return public | (Q(visibility=Incident.Visibility.RESTRICTED) & mine)


class Incident(models.Model):
    OPEN_STATUSES = ("investigating", "mitigated")

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        MITIGATED = "mitigated", "Mitigated"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public (all staff)"
        RESTRICTED = "restricted", "Restricted (its people only)"

    class CloseReason(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        FALSE_ALARM = "false_alarm", "False alarm"
        DUPLICATE = "duplicate", "Duplicate"

    class Origin(models.TextChoices):
        WEB = "web", "Filed in the browser"
        API = "api", "Filed over the API"
        CLI = "cli", "Filed from the command line"
        ALERT = "alert", "Opened by an alert"
        IMMUNE = "immune", "Opened by the immune system"

    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="Markdown. What happened, in a few lines.")
    impact = models.TextField(
        blank=True,
        help_text="What users and the business saw. The why chain starts from this sentence.",
    )
    severity = models.CharField(max_length=4, choices=Severity.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVESTIGATING)
    visibility = models.CharField(
        max_length=20, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.WEB)
    services = models.ManyToManyField("metrics_link.Service", related_name="incidents", blank=True)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commanded_incidents",
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_incidents",
    )
    responders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="responded_incidents"
    )

    started_at = models.DateTimeField()
    started_at_source = models.CharField(
        max_length=10, choices=Provenance.choices, default=Provenance.HUMAN
    )
    detected_at = models.DateTimeField(null=True, blank=True)
    detected_at_source = models.CharField(
        max_length=10, choices=Provenance.choices, default=Provenance.HUMAN
    )
    mitigated_at = models.DateTimeField(null=True, blank=True)
    mitigated_at_source = models.CharField(
        max_length=10, choices=Provenance.choices, default=Provenance.HUMAN
    )
    mitigated_by_deploy = models.ForeignKey(
        "metrics_link.Deploy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_at_source = models.CharField(
        max_length=10, choices=Provenance.choices, default=Provenance.HUMAN
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    no_deploy_involved = models.BooleanField(
        default=False, help_text="Responders concluded no deploy contributed."
    )

    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[services, responders])

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["status", "severity"], name="incident_status_sev_idx"),
            models.Index(fields=["started_at"], name="incident_started_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:incident-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_restricted(self) -> bool:
        return self.visibility == self.Visibility.RESTRICTED

    @property
    def severity_meaning(self) -> str:
        return SEVERITY_MEANINGS.get(self.severity, "")

    def _since_start(self, moment) -> timedelta | None:
        return moment - self.started_at if moment and self.started_at else None

    @property
    def time_to_detect(self) -> timedelta | None:
        return self._since_start(self.detected_at)

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self._since_start(self.mitigated_at)

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self._since_start(self.resolved_at)

    def people_ids(self) -> set[int]:
        ids = {self.commander_id, self.reporter_id} | {u.pk for u in self.responders.all()}
        return {i for i in ids if i}


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        STATUS = "status", "Status change"
        DEPLOY = "deploy", "Deploy"
        ALERT = "alert", "Alert"
        ACTION = "action", "Action"
        VERDICT = "verdict", "Suspect verdict"
        EDIT = "edit", "Edit"

    class Source(models.TextChoices):
        HUMAN = "human", "Person"
        MACHINE = "machine", "Machine"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NOTE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(help_text="Markdown.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.HUMAN)
    starred = models.BooleanField(default=False)
    deploy = models.ForeignKey(
        "metrics_link.Deploy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alert = models.ForeignKey(
        "metrics_link.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Machine entries carry a key ("deploy:42", "alert:7") so re-running an import adds nothing twice.
    dedupe_key = models.CharField(max_length=100, blank=True)
    is_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SoftDeleteQuerySet["TimelineEntry"].as_manager()

    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="timeline_machine_entry_once",
            )
        ]
        indexes = [
            models.Index(fields=["incident", "at"], name="timeline_incident_at_idx"),
            # Home's newest entries across incidents: ORDER BY at DESC, id DESC LIMIT 12.
            models.Index(fields=["at", "id"], name="timeline_at_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.at:%Y-%m-%d %H:%M} {self.kind}"


class SuspectVerdict(models.Model):
    class Verdict(models.TextChoices):
        CULPRIT = "culprit", "Culprit"
        CONTRIBUTING = "contributing", "Contributing"
        RULED_OUT = "ruled_out", "Ruled out"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="verdicts")
    deploy = models.ForeignKey(
        "metrics_link.Deploy", on_delete=models.CASCADE, related_name="verdicts"
    )
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["incident", "deploy"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "deploy"], name="one_verdict_per_suspect")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}/{self.deploy_id}: {self.verdict}"
