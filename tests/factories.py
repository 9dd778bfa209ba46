"""Factories that always build a valid graph: a service has a team with a manager; an incident has a service."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from metrics_link.models import Commit, Deploy, Service, Team
from postmortems.models import ActionItem, Incident, TimelineEntry, WhyNode


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    manager = factory.SubFactory(UserFactory)

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.set(extracted)


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service

    slug = factory.Sequence(lambda n: f"svc-{n}")
    name = factory.LazyAttribute(lambda s: s.slug.replace("-", " ").title())
    team = factory.SubFactory(TeamFactory)
    repositories = factory.LazyAttribute(lambda s: [f"acme/{s.slug}"])
    claimed = True


class IncidentFactory(DjangoModelFactory):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Something broke #{n}")
    severity = "sev2"
    impact = "Users could not do the thing."
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    detected_at = factory.LazyAttribute(lambda i: i.started_at + timedelta(minutes=5))
    commander = factory.SubFactory(UserFactory)
    reporter = factory.SelfAttribute("commander")

    class Params:
        restricted = factory.Trait(visibility=Incident.Visibility.RESTRICTED)
        resolved = factory.Trait(
            status=Incident.Status.RESOLVED,
            mitigated_at=factory.LazyAttribute(lambda i: i.started_at + timedelta(minutes=30)),
            resolved_at=factory.LazyAttribute(lambda i: i.started_at + timedelta(minutes=60)),
        )

    @factory.post_generation
    def services(obj, create, extracted, **kwargs):
        if not create:
            return
        obj.services.set(extracted if extracted is not None else [ServiceFactory()])

    @factory.post_generation
    def responders(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.responders.set(extracted)


class TimelineEntryFactory(DjangoModelFactory):
    class Meta:
        model = TimelineEntry

    incident = factory.SubFactory(IncidentFactory)
    at = factory.LazyFunction(timezone.now)
    body = factory.Sequence(lambda n: f"Note {n}")
    author = factory.SelfAttribute("incident.commander")


class CommitFactory(DjangoModelFactory):
    class Meta:
        model = Commit

    repository = "acme/web"
    sha = factory.Sequence(lambda n: f"{n:040x}")
    author = factory.Faker("name")
    message = factory.Sequence(lambda n: f"Change number {n}")
    committed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=3))
    push_seq = factory.Sequence(lambda n: n)


class DeployFactory(DjangoModelFactory):
    class Meta:
        model = Deploy

    service = factory.SubFactory(ServiceFactory)
    environment = "production"
    repository = factory.LazyAttribute(lambda d: (d.service.repositories or [""])[0])
    sha = factory.Sequence(lambda n: f"{n + 1000:040x}")
    version = factory.Sequence(lambda n: f"v1.{n}.0")
    status = Deploy.Status.SUCCESS
    finished_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=3))
    started_at = factory.LazyAttribute(lambda d: d.finished_at - timedelta(minutes=4))
    deployer = "ci-bot"
    provider = Deploy.Provider.API


class WhyNodeFactory(DjangoModelFactory):
    class Meta:
        model = WhyNode

    incident = factory.SubFactory(IncidentFactory)
    parent = None
    level = factory.LazyAttribute(lambda n: n.parent.level + 1 if n.parent else 1)
    question = factory.LazyAttribute(lambda n: f"Why did {n.incident.impact.rstrip('.').lower()}?")
    answer = factory.Sequence(lambda n: f"Cause {n}")
    category = "code"


class ActionItemFactory(DjangoModelFactory):
    class Meta:
        model = ActionItem

    title = factory.Sequence(lambda n: f"Fix thing {n}")
    owner = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    due_on = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=14)).date())
    priority = "p2"
    type = "prevent"


# --- documents ---


def publish_postmortem(incident, *, by=None, sections=None, notify=False):
    """A published postmortem built through the real services (generate → submit → approve →
    publish), with `sections` written over the generated draft. Returns the PostmortemVersion."""
    from postmortems.selectors.drafts import approvals_required
    from postmortems.services import documents as svc

    by = by or incident.commander or UserFactory()
    pm = svc.generate_draft(incident=incident, by=by)
    for key, text in (sections or {}).items():
        pm = svc.edit_section(postmortem=pm, key=key, text=text, by=by)
    need = approvals_required(incident.severity)
    reviewers = [UserFactory() for _ in range(need)]
    if reviewers:
        svc.set_reviewers(postmortem=pm, reviewers=reviewers, by=by)
    pm = svc.submit_for_review(postmortem=pm, by=by, override_reason="test")
    for reviewer in reviewers:
        svc.approve(postmortem=pm, by=reviewer)
    return svc.publish(postmortem=pm, by=by, notify=notify)


# --- reviews ---

from postmortems.models import Experiment, RetroItem, Retrospective  # noqa: E402


class RetrospectiveFactory(DjangoModelFactory):
    class Meta:
        model = Retrospective

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Sprint {n}")
    sprint_start = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=14))
    sprint_end = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=3))
    facilitator = factory.SelfAttribute("team.manager")
    created_by = factory.SelfAttribute("team.manager")
    published = True
    published_at = factory.LazyFunction(timezone.now)


class RetroItemFactory(DjangoModelFactory):
    class Meta:
        model = RetroItem

    retrospective = factory.SubFactory(RetrospectiveFactory)
    column = "start"
    text = factory.Sequence(lambda n: f"Idea {n}")
    author = factory.SelfAttribute("retrospective.team.manager")


class ExperimentFactory(DjangoModelFactory):
    class Meta:
        model = Experiment

    name = factory.Sequence(lambda n: f"Experiment {n}")
    hypothesis = "The new button converts better."
    control_trials = 1000
    control_conversions = 100
    experiment_trials = 1000
    experiment_conversions = 130
    split = 0.5
    started_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=30))


# --- alerts ---
from metrics_link.models import Alert, MetricPoint, MetricSeries  # noqa: E402


class AlertFactory(DjangoModelFactory):
    class Meta:
        model = Alert

    source = Alert.Source.ALERTMANAGER
    service = factory.SubFactory(ServiceFactory)
    name = factory.Sequence(lambda n: f"ErrorRateHigh{n}")
    severity = Alert.Severity.CRITICAL
    status = Alert.Status.FIRING
    summary = "Error rate above 5%."
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=10))
    dedupe_key = factory.Sequence(lambda n: f"test-alert-{n}")
    group_key = factory.LazyAttribute(lambda a: a.dedupe_key)


class MetricSeriesFactory(DjangoModelFactory):
    class Meta:
        model = MetricSeries
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"series-{n}")
    label = factory.LazyAttribute(lambda s: s.name.replace("-", " ").title())
    kind = MetricSeries.Kind.BUSINESS
    aggregation = MetricSeries.Aggregation.SUM


class MetricPointFactory(DjangoModelFactory):
    class Meta:
        model = MetricPoint

    series = factory.SubFactory(MetricSeriesFactory)
    ts = factory.LazyFunction(lambda: timezone.now().replace(second=0, microsecond=0))
    value = 1.0
