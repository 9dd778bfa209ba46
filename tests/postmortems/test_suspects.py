"""Suspects: the window lookup, verdicts, "no deploy involved", timeline hooks, the mitigation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from metrics_link.models import Deploy
from metrics_link.services.deploys import record_deploy
from postmortems.models import Incident, SuspectVerdict, TimelineEntry
from postmortems.selectors.suspects import ranked_suspects
from postmortems.services import incidents as incident_services
from postmortems.services.suspects import (
    add_window_deploys_to_timeline,
    mark_mitigating_deploy,
    mark_no_deploy_involved,
    set_verdict,
)
from tests.factories import CommitFactory, DeployFactory, IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def before(incident, **delta):
    return incident.started_at - timedelta(**delta)


def test_it_ranks_production_deploys_in_the_window_with_reasons(incident, service):
    other = ServiceFactory()
    culprit = DeployFactory(service=service, finished_at=before(incident, minutes=20))
    older = DeployFactory(service=other, finished_at=before(incident, hours=5))
    skewed = DeployFactory(service=other, finished_at=incident.started_at + timedelta(minutes=5))
    DeployFactory(service=service, finished_at=before(incident, minutes=10), environment="staging")
    DeployFactory(service=service, finished_at=before(incident, hours=25))
    DeployFactory(service=service, finished_at=incident.started_at + timedelta(minutes=30))
    suspects = ranked_suspects(incident)
    assert [s.deploy for s in suspects] == [culprit, skewed, older]
    assert suspects[0].reasons[:2] == [
        "deployed 20 min before the start",
        "same service as the incident",
    ]
    assert suspects[0].verdict is None


def test_the_window_follows_the_settings(incident, service, settings):
    DeployFactory(service=service, finished_at=before(incident, hours=30))
    assert ranked_suspects(incident) == []
    settings.SUSPECT_WINDOW_HOURS = 48
    assert len(ranked_suspects(incident)) == 1


def test_prod_counts_as_production_too(incident, service, settings):
    settings.PRODUCTION_ENVIRONMENTS = ["production", "prod", "live"]
    DeployFactory(service=service, finished_at=before(incident, hours=1), environment="live")
    assert len(ranked_suspects(incident)) == 1


def _build(incident, service, n: int) -> None:
    for i in range(n):
        deploy = DeployFactory(
            service=ServiceFactory() if i % 2 else service,
            finished_at=before(incident, minutes=5 + i),
        )
        for position, commit in enumerate(CommitFactory.create_batch(4)):
            deploy.deploy_commits.create(commit=commit, position=position)
        SuspectVerdict.objects.create(
            incident=incident, deploy=deploy, verdict="ruled_out", at=timezone.now()
        )


def test_the_suspects_query_count_does_not_grow_with_deploys_or_commits(
    incident, service, django_assert_num_queries
):
    _build(incident, service, 1)
    fresh = Incident.objects.get(pk=incident.pk)
    with django_assert_num_queries(5):  # services, deploys, commits, verdicts, regressed watches
        suspects = ranked_suspects(fresh)
        [c.sha for s in suspects for c in s.commits] + [s.verdict.by for s in suspects]
    _build(incident, service, 49)
    fresh = Incident.objects.get(pk=incident.pk)
    with django_assert_num_queries(5):
        suspects = ranked_suspects(fresh)
        [c.sha for s in suspects for c in s.commits] + [s.verdict.by for s in suspects]
    assert len(suspects) == 50


# --- verdicts ------------------------------------------------------------------------------------


def test_a_verdict_is_recorded_with_who_and_when_and_shows_in_the_timeline(incident, service, user):
    deploy = DeployFactory(service=service, finished_at=before(incident, minutes=30))
    verdict = set_verdict(
        incident=incident, deploy=deploy, verdict="culprit", by=user, note="slow query"
    )
    assert (verdict.verdict, verdict.by, verdict.note) == ("culprit", user, "slow query")
    assert verdict.at is not None
    entry = incident.timeline.get(kind=TimelineEntry.Kind.VERDICT)
    assert "as the culprit" in entry.body
    assert entry.author == user
    assert entry.deploy == deploy
    assert ranked_suspects(incident)[0].verdict == verdict


def test_a_new_verdict_replaces_the_old_one_and_a_repeat_changes_nothing(incident, service, user):
    deploy = DeployFactory(service=service, finished_at=before(incident, minutes=30))
    set_verdict(incident=incident, deploy=deploy, verdict="culprit", by=user)
    set_verdict(incident=incident, deploy=deploy, verdict="ruled_out", by=user)
    set_verdict(incident=incident, deploy=deploy, verdict="ruled_out", by=user)
    assert SuspectVerdict.objects.get().verdict == "ruled_out"
    assert incident.timeline.filter(kind="verdict").count() == 2


@pytest.mark.parametrize(
    ("verdict", "offset", "environment", "field"),
    [
        ("guilty", 30, "production", "verdict"),
        ("culprit", 60 * 30, "production", "deploy"),
        ("culprit", 30, "staging", "deploy"),
    ],
)
def test_it_refuses_a_verdict_that_makes_no_sense(
    incident, service, user, verdict, offset, environment, field
):
    deploy = DeployFactory(
        service=service, finished_at=before(incident, minutes=offset), environment=environment
    )
    with pytest.raises(ValidationError) as exc:
        set_verdict(incident=incident, deploy=deploy, verdict=verdict, by=user)
    assert field in exc.value.message_dict
    assert SuspectVerdict.objects.count() == 0


def test_no_deploy_involved_is_recorded_and_refused_while_a_culprit_stands(incident, service, user):
    deploy = DeployFactory(service=service, finished_at=before(incident, minutes=30))
    set_verdict(incident=incident, deploy=deploy, verdict="culprit", by=user)
    with pytest.raises(ValidationError, match="rule it out"):
        mark_no_deploy_involved(incident=incident, by=user)
    set_verdict(incident=incident, deploy=deploy, verdict="ruled_out", by=user)
    incident = mark_no_deploy_involved(incident=incident, by=user)
    assert incident.no_deploy_involved
    assert incident.timeline.filter(kind="verdict", body__contains="no deploy involved").exists()
    # A later culprit verdict takes it back.
    set_verdict(incident=incident, deploy=deploy, verdict="culprit", by=user)
    incident.refresh_from_db()
    assert not incident.no_deploy_involved


# --- timeline hooks ------------------------------------------------------------------------------


def test_opening_an_incident_adds_its_own_services_deploys_once(
    service, user, django_capture_on_commit_callbacks
):
    now = timezone.now()
    own = DeployFactory(service=service, finished_at=now - timedelta(hours=2))
    DeployFactory(service=ServiceFactory(), finished_at=now - timedelta(hours=1))  # suspects only
    DeployFactory(service=service, finished_at=now - timedelta(hours=30))  # outside the window
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_services.open_incident(
            title="Errors", severity="sev2", services=[service], reporter=user
        )
    entries = incident.timeline.filter(kind=TimelineEntry.Kind.DEPLOY)
    assert [e.deploy for e in entries] == [own]
    assert entries[0].source == "machine"
    assert entries[0].at == own.finished_at
    add_window_deploys_to_timeline(incident.pk)  # runs again: no duplicates
    assert incident.timeline.filter(kind=TimelineEntry.Kind.DEPLOY).count() == 1
    assert len(ranked_suspects(incident)) == 2


def test_moving_the_start_adds_the_deploys_of_the_new_window(
    incident, service, user, django_capture_on_commit_callbacks
):
    early = DeployFactory(service=service, finished_at=before(incident, hours=40))
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.update_incident(
            incident=incident, by=user, started_at=incident.started_at - timedelta(hours=24)
        )
    assert incident.timeline.filter(deploy=early, kind="deploy").exists()


def test_a_deploy_landing_during_an_open_incident_is_added_to_its_timeline(
    incident, service, django_capture_on_commit_callbacks
):
    closed = IncidentFactory(services=[service], status=Incident.Status.CLOSED)
    with django_capture_on_commit_callbacks(execute=True):
        result = record_deploy(service=service, sha="f" * 40, version="v-fix")
    assert incident.timeline.filter(deploy=result.deploy, kind="deploy").count() == 1
    assert not closed.timeline.filter(deploy=result.deploy).exists()
    with django_capture_on_commit_callbacks(execute=True):
        record_deploy(service=service, sha="e" * 40, version="v-stage", environment="staging")
    assert incident.timeline.filter(kind="deploy").count() == 1


def test_a_responder_can_mark_a_deploy_as_the_mitigation(incident, service, user):
    fix = DeployFactory(service=service, finished_at=incident.started_at + timedelta(minutes=25))
    incident = mark_mitigating_deploy(incident=incident, deploy=fix, by=user)
    assert incident.mitigated_at == fix.finished_at
    assert incident.mitigated_at_source == "deploy"
    assert incident.mitigated_by_deploy == fix
    assert incident.status == "mitigated"
    assert incident.timeline.filter(kind="status", deploy=fix).exists()


def test_only_a_deploy_of_its_services_after_the_start_can_be_the_mitigation(
    incident, service, user
):
    other = DeployFactory(finished_at=incident.started_at + timedelta(minutes=5))
    early = DeployFactory(service=service, finished_at=before(incident, minutes=5))
    for deploy in (other, early):
        with pytest.raises(ValidationError):
            mark_mitigating_deploy(incident=incident, deploy=deploy, by=user)
    incident.refresh_from_db()
    assert incident.mitigated_at is None


# --- the index -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_window_lookup_uses_the_deploy_index(incident):
    from metrics_link.selectors import deploys_in_window
    from postmortems.selectors.suspects import suspect_window

    services = [ServiceFactory() for _ in range(5)]
    now = timezone.now()
    Deploy.objects.bulk_create(
        [
            Deploy(
                service=services[i % 5],
                environment=("production", "staging", "qa")[i % 3],
                finished_at=now - timedelta(minutes=7 * i),
                sha=f"{i:040x}",
            )
            for i in range(20000)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE metrics_link_deploy")
    start, end = suspect_window(incident)
    plan = deploys_in_window(start=start, end=end).explain()
    assert "deploy_env_time_idx" in plan or "deploy_svc_env_time_idx" in plan, plan
    assert "Seq Scan on metrics_link_deploy" not in plan, plan
