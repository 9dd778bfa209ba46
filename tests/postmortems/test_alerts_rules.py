"""The rules of alerts and incidents, at the service level (ARCHITECTURE: "Noise is not an incident")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics_link.models import Alert
from metrics_link.services.alerts import record_alert
from metrics_link.webhooks.types import AlertData
from postmortems.models import Incident, IncidentAlert, TimelineEntry
from postmortems.models.incidents import Provenance
from postmortems.selectors.impact import impact_section
from postmortems.services.alerts import all_alerts_resolved, react_to_alert
from postmortems.services.incidents import change_status, open_incident
from tests.factories import AlertFactory, IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(second=0, microsecond=0)


def data(
    *,
    key: str = "k1",
    service: str = "checkout",
    severity: str = "critical",
    status: str = "firing",
    minutes_ago: int = 10,
    name: str = "ErrorRateHigh",
    fingerprint: str = "fp1",
) -> AlertData:
    starts = NOW - timedelta(minutes=minutes_ago)
    return AlertData(
        source="alertmanager",
        dedupe_key=f"{key}|{status}",
        service=service,
        name=name,
        severity=severity,
        status=status,
        labels={"alertname": name, "service": service, "fp": fingerprint},
        summary=f"{name} on {service}",
        starts_at=starts,
        ends_at=timezone.now() if status == "resolved" else None,
        url="",
    )


@pytest.fixture
def receive(django_capture_on_commit_callbacks):
    """Record an alert and run what happens on commit (the alert_received receivers)."""

    def run(alert_data: AlertData) -> Alert:
        with django_capture_on_commit_callbacks(execute=True):
            alert, _ = record_alert(data=alert_data)
        return alert

    return run


def test_a_warning_alone_opens_nothing(receive):
    receive(data(severity="warning"))
    receive(data(key="k2", severity="info", fingerprint="fp2"))

    assert Alert.objects.count() == 2
    assert Incident.objects.count() == 0


def test_a_critical_alert_opens_an_incident_for_its_service(receive):
    alert = receive(data())

    incident = Incident.objects.get()
    assert incident.title == "ErrorRateHigh on checkout"
    assert incident.severity == "sev2"
    assert incident.origin == "alert"
    assert IncidentAlert.objects.get().opened is True
    assert incident.timeline.get(dedupe_key=f"alert:{alert.pk}").alert == alert


def test_the_incident_severity_follows_the_setting(receive, settings):
    settings.ALERT_SEVERITY_TO_INCIDENT = {"critical": "sev1", "warning": "sev3", "info": "sev4"}
    receive(data())
    assert Incident.objects.get().severity == "sev1"


def test_the_threshold_is_a_setting(receive, settings):
    settings.ALERT_INCIDENT_THRESHOLD = "warning"
    receive(data(severity="warning"))
    receive(data(key="k2", severity="info", service="search", fingerprint="fp2"))

    incident = Incident.objects.get()
    assert incident.severity == "sev3"
    assert list(incident.services.values_list("slug", flat=True)) == ["checkout"]


def test_start_and_detection_come_from_the_first_alert_with_provenance_alert(receive):
    first = receive(data(minutes_ago=30))
    receive(data(key="k2", minutes_ago=5, fingerprint="fp2"))

    incident = Incident.objects.get()
    assert incident.started_at == first.starts_at
    assert incident.detected_at == first.starts_at
    assert incident.started_at_source == Provenance.ALERT
    assert incident.detected_at_source == Provenance.ALERT


def test_an_earlier_alert_joining_later_moves_the_start_earlier(receive):
    receive(data(minutes_ago=10))
    earlier = receive(data(key="k2", severity="warning", minutes_ago=25, fingerprint="fp2"))

    incident = Incident.objects.get()
    assert incident.started_at == earlier.starts_at
    assert incident.started_at_source == Provenance.ALERT


def test_a_start_set_by_a_person_is_never_moved_by_alerts(receive, user):
    service = ServiceFactory(slug="checkout")
    started = timezone.now() - timedelta(minutes=15)
    incident = open_incident(
        title="Checkout slow",
        severity="sev3",
        services=[service],
        reporter=user,
        started_at=started,
    )
    receive(data(minutes_ago=40))

    incident.refresh_from_db()
    assert incident.started_at == started
    assert incident.started_at_source == Provenance.HUMAN


def test_a_critical_alert_joins_the_open_incident_of_its_service(receive, user):
    service = ServiceFactory(slug="checkout")
    incident = IncidentFactory(services=[service], commander=user)
    alert = receive(data())

    assert Incident.objects.count() == 1
    link = IncidentAlert.objects.get()
    assert (link.incident, link.alert, link.opened) == (incident, alert, False)
    assert incident.timeline.filter(kind="alert").count() == 1


def test_a_warning_joins_the_open_incident_of_its_service(receive, user):
    service = ServiceFactory(slug="checkout")
    incident = IncidentFactory(services=[service], commander=user)
    receive(data(severity="warning"))

    assert IncidentAlert.objects.get().incident == incident


def test_a_closed_incident_is_not_joined(receive, user):
    service = ServiceFactory(slug="checkout")
    IncidentFactory(services=[service], commander=user, status="closed", close_reason="resolved")
    receive(data(severity="warning"))
    assert IncidentAlert.objects.count() == 0
    receive(data(key="k2", fingerprint="fp2"))
    assert Incident.objects.count() == 2


def test_alerts_of_another_service_do_not_join(receive, user):
    IncidentFactory(services=[ServiceFactory(slug="search")], commander=user)
    receive(data(severity="warning"))
    assert IncidentAlert.objects.count() == 0


def test_redelivery_and_rerunning_the_receiver_add_nothing(receive):
    alert = receive(data())
    receive(data())  # same dedupe key
    react_to_alert(alert_id=alert.pk)  # the receiver itself run twice

    assert Alert.objects.count() == 1
    assert Incident.objects.count() == 1
    assert IncidentAlert.objects.count() == 1
    assert TimelineEntry.objects.filter(kind="alert").count() == 1


def test_a_resolved_alert_says_so_once(receive):
    alert = receive(data())
    receive(data(status="resolved"))
    receive(data(status="resolved"))

    alert.refresh_from_db()
    assert alert.status == "resolved"
    incident = Incident.objects.get()
    entries = incident.timeline.filter(kind="alert").order_by("at", "pk")
    assert [e.dedupe_key for e in entries] == [f"alert:{alert.pk}", f"alert:{alert.pk}:resolved"]
    assert "resolved" in entries[1].body


def test_a_late_firing_notification_does_not_reopen_a_resolved_alert(receive):
    receive(data())
    receive(data(status="resolved"))
    receive(AlertData(**{**data().__dict__, "dedupe_key": "other-key"}))

    assert Alert.objects.get().status == "resolved"


def test_a_resolved_alert_never_opens_an_incident(receive):
    receive(data(status="resolved"))
    assert Alert.objects.get().status == "resolved"
    assert Incident.objects.count() == 0


def test_when_all_alerts_resolve_the_page_suggests_mitigated_and_people_decide(receive, user):
    receive(data())
    receive(data(key="k2", severity="warning", fingerprint="fp2"))
    incident = Incident.objects.get()
    assert not all_alerts_resolved(incident)
    assert impact_section(incident, user)["suggest_mitigated"] is False

    receive(data(status="resolved"))
    assert impact_section(incident, user)["suggest_mitigated"] is False  # one still firing
    receive(data(key="k2", severity="warning", status="resolved", fingerprint="fp2"))

    incident.refresh_from_db()
    assert all_alerts_resolved(incident)
    assert incident.status == "investigating"  # nothing moved by itself
    assert impact_section(incident, user)["suggest_mitigated"] is True
    incident.responders.add(user)
    change_status(incident=incident, to="mitigated", by=user)
    incident.refresh_from_db()
    assert impact_section(incident, user)["suggest_mitigated"] is False


def test_an_incident_filed_by_hand_gets_no_mitigation_suggestion(receive, user):
    service = ServiceFactory(slug="checkout")
    incident = IncidentFactory(services=[service], commander=user)
    receive(data())
    receive(data(status="resolved"))
    assert impact_section(incident, user)["suggest_mitigated"] is False


def test_an_alert_of_a_soft_deleted_incident_opens_a_new_one(receive, user):
    service = ServiceFactory(slug="checkout")
    IncidentFactory(services=[service], commander=user, is_deleted=True)
    receive(data())
    assert Incident.objects.filter(is_deleted=False).count() == 1


def test_the_alert_factory_builds_a_valid_alert():
    alert = AlertFactory()
    assert alert.service.team is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_critical_alerts_arriving_together_open_one_incident_on_postgresql():
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def work(index: int):
        try:
            barrier.wait()
            record_alert(data=data(key=f"race{index}", fingerprint=f"race{index}"))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Alert.objects.count() == 2
    incident = Incident.objects.get()
    assert incident.alert_links.count() == 2
