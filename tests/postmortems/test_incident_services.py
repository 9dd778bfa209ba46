"""Lifecycle rules and time validation of incidents, at the service level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics_link.models import Service
from postmortems.models import Incident, TimelineEntry
from postmortems.services import ServiceError
from postmortems.services import incidents as svc
from tests.factories import IncidentFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_open_incident_needs_only_title_severity_and_a_service(user, service):
    incident = svc.open_incident(
        title="Checkout down", severity="sev1", services=[service], reporter=user
    )
    assert incident.status == "investigating"
    assert incident.commander == user
    assert list(incident.services.all()) == [service]
    assert abs((incident.started_at - timezone.now()).total_seconds()) < 5
    assert incident.started_at_source == "human"
    entry = incident.timeline.get()
    assert entry.kind == "status" and "SEV1" in entry.body


def test_open_incident_reports_every_missing_field_at_once(user):
    with pytest.raises(ServiceError) as exc:
        svc.open_incident(title="  ", severity="sev9", services=[], reporter=user)
    assert set(exc.value.message_dict) == {"title", "severity", "services"}


def test_open_incident_creates_unknown_services_unclaimed(user):
    incident = svc.open_incident(
        title="x", severity="sev3", services=["Brand New Thing"], reporter=user
    )
    service = Service.objects.get(slug="brand-new-thing")
    assert service.claimed is False and service.team is None
    assert list(incident.services.all()) == [service]


def test_detection_before_start_is_refused_with_a_clear_message(user, service):
    start = timezone.now() - timedelta(hours=1)
    with pytest.raises(ServiceError) as exc:
        svc.open_incident(
            title="x",
            severity="sev2",
            services=[service],
            reporter=user,
            started_at=start,
            detected_at=start - timedelta(minutes=5),
        )
    assert "Detection" in exc.value.message_dict["detected_at"][0]
    assert "cannot be before" in exc.value.message_dict["detected_at"][0]


def test_a_start_in_the_future_is_refused(user, service):
    with pytest.raises(ServiceError) as exc:
        svc.open_incident(
            title="x",
            severity="sev2",
            services=[service],
            reporter=user,
            started_at=timezone.now() + timedelta(hours=2),
        )
    assert "future" in exc.value.message_dict["started_at"][0]


def test_update_refuses_resolution_before_mitigation(incident, user):
    incident.mitigated_at = incident.started_at + timedelta(minutes=30)
    incident.save()
    with pytest.raises(ServiceError) as exc:
        svc.update_incident(
            incident=incident, by=user, resolved_at=incident.started_at + timedelta(minutes=10)
        )
    assert "Resolution" in exc.value.message_dict["resolved_at"][0]


def test_changing_the_start_logs_it_and_marks_it_human(incident, user):
    new_start = incident.started_at - timedelta(minutes=20)
    svc.update_incident(incident=incident, by=user, started_at=new_start)
    incident.refresh_from_db()
    assert incident.started_at == new_start and incident.started_at_source == "human"
    assert incident.timeline.filter(kind="edit", body__startswith="Start time set to").exists()


def test_status_walks_forward_and_fills_milestones(incident, user):
    svc.change_status(incident=incident, to="mitigated", by=user)
    incident.refresh_from_db()
    assert incident.status == "mitigated" and incident.mitigated_at is not None
    svc.change_status(incident=incident, to="resolved", by=user)
    incident.refresh_from_db()
    assert incident.resolved_at >= incident.mitigated_at
    assert list(incident.timeline.filter(kind="status").values_list("body", flat=True)) == [
        "Mitigated.",
        "Resolved.",
    ]


def test_a_closed_incident_can_only_be_reopened(incident, user):
    svc.change_status(incident=incident, to="closed", by=user, reason="false_alarm")
    incident.refresh_from_db()
    with pytest.raises(ServiceError, match="closed cannot move to mitigated"):
        svc.change_status(incident=incident, to="mitigated", by=user)
    svc.change_status(incident=incident, to="investigating", by=user)
    incident.refresh_from_db()
    assert (
        incident.status == "investigating"
        and incident.close_reason == ""
        and incident.closed_at is None
    )
    assert incident.timeline.filter(body__startswith="Reopened").exists()


def test_closing_needs_a_reason(incident, user):
    with pytest.raises(ServiceError) as exc:
        svc.change_status(incident=incident, to="closed", by=user)
    assert "reason" in exc.value.message_dict


def test_closing_as_duplicate_names_another_incident(incident, user):
    with pytest.raises(ServiceError):
        svc.change_status(incident=incident, to="closed", by=user, reason="duplicate")
    with pytest.raises(ServiceError, match="itself"):
        svc.change_status(
            incident=incident, to="closed", by=user, reason="duplicate", duplicate_of=incident
        )
    original = IncidentFactory()
    svc.change_status(
        incident=incident, to="closed", by=user, reason="duplicate", duplicate_of=original
    )
    incident.refresh_from_db()
    assert incident.duplicate_of == original
    assert incident.timeline.filter(body=f"Closed as a duplicate of #{original.pk}.").exists()


def test_close_gates_block_closing_as_resolved_but_not_false_alarms(incident, user, monkeypatch):
    monkeypatch.setattr(svc, "CLOSE_GATES", [lambda incident, reason: ["The why tree is missing."]])
    with pytest.raises(ServiceError, match="why tree is missing"):
        svc.change_status(incident=incident, to="closed", by=user, reason="resolved")
    svc.change_status(incident=incident, to="closed", by=user, reason="false_alarm")
    incident.refresh_from_db()
    assert incident.status == "closed"


def test_notes_need_text_and_star_toggles(incident, user):
    with pytest.raises(ServiceError):
        svc.add_note(incident=incident, author=user, body="   ")
    entry = svc.add_note(incident=incident, author=user, body="Rolled back")
    svc.set_starred(entry=entry, starred=True)
    entry.refresh_from_db()
    assert entry.starred is True


def test_machine_entries_with_a_key_are_added_once(incident):
    for _ in range(3):
        svc.add_timeline_entry(
            incident=incident,
            body="Deploy v1",
            kind="deploy",
            source="machine",
            dedupe_key="deploy:1",
        )
    assert TimelineEntry.objects.filter(incident=incident, dedupe_key="deploy:1").count() == 1


def test_soft_delete_hides_the_incident_everywhere_but_keeps_it(incident, user):
    svc.delete_incident(incident=incident, by=user)
    assert not Incident.objects.visible_to(user).filter(pk=incident.pk).exists()
    assert Incident.objects.filter(pk=incident.pk, is_deleted=True).exists()
    assert incident.history.count() >= 2


def test_every_change_is_in_history(incident, user):
    before = incident.history.count()
    svc.update_incident(incident=incident, by=user, title="A clearer title")
    svc.change_status(incident=incident, to="mitigated", by=user)
    assert incident.history.count() == before + 2
    assert incident.history.first().title == "A clearer title"


def test_derived_durations(user):
    start = timezone.now() - timedelta(hours=3)
    incident = IncidentFactory(
        started_at=start,
        detected_at=start + timedelta(minutes=4),
        mitigated_at=start + timedelta(minutes=52),
        resolved_at=start + timedelta(hours=2),
        services=[ServiceFactory()],
        commander=UserFactory(),
    )
    assert incident.time_to_detect == timedelta(minutes=4)
    assert incident.time_to_mitigate == timedelta(minutes=52)
    assert incident.time_to_resolve == timedelta(hours=2)
