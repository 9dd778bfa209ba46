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
from postmortems.services.alerts import react_to_alert
from postmortems.services.incidents import open_incident
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


# --- all alerts resolved → mitigated; never resolved --------------------------------------------


def resolve(receive, **kwargs) -> Alert:
    return receive(data(status="resolved", **kwargs))


def test_when_every_alert_resolves_the_incident_is_mitigated_with_provenance_alert(receive):
    receive(data())
    receive(data(key="k2", severity="warning", fingerprint="fp2"))
    resolve(receive)
    incident = Incident.objects.get()
    incident.refresh_from_db()
    assert incident.status == "investigating"  # one alert still fires

    last = resolve(receive, key="k2", severity="warning", fingerprint="fp2")

    incident.refresh_from_db()
    assert incident.status == "mitigated"
    assert incident.mitigated_at == last.ends_at
    assert incident.mitigated_at_source == Provenance.ALERT
    assert incident.resolved_at is None
    entry = incident.timeline.filter(kind="status").order_by("at", "pk").last()
    assert entry.source == "machine"
    assert entry.body.startswith("Mitigated. All 2 alerts of this incident resolved.")
    assert "nothing resolves it automatically" in entry.body


def test_a_mitigation_time_a_person_set_is_kept_when_the_alerts_resolve(receive, user):
    from postmortems.services.incidents import update_incident

    receive(data(minutes_ago=30))
    incident = Incident.objects.get()
    person_time = NOW - timedelta(minutes=20)
    incident.responders.add(user)
    update_incident(incident=incident, by=user, mitigated_at=person_time)

    resolve(receive, minutes_ago=30)

    incident.refresh_from_db()
    assert incident.status == "mitigated"
    assert incident.mitigated_at == person_time
    assert incident.mitigated_at_source == Provenance.HUMAN
    entry = incident.timeline.filter(kind="status").order_by("at", "pk").last()
    assert "The mitigation time a person set is kept." in entry.body


def test_alerts_never_resolve_an_incident_and_a_second_run_changes_nothing(receive):
    alert = receive(data())
    resolve(receive)
    react_to_alert(alert_id=alert.pk)
    react_to_alert(alert_id=alert.pk)

    incident = Incident.objects.get()
    assert incident.status == "mitigated"
    assert incident.resolved_at is None
    assert incident.timeline.filter(kind="status", body__startswith="Mitigated").count() == 1


def test_an_incident_a_person_already_mitigated_or_resolved_is_left_alone(receive, user):
    from postmortems.services.incidents import change_status

    receive(data())
    incident = Incident.objects.get()
    incident.responders.add(user)
    change_status(incident=incident, to="resolved", by=user)
    resolve(receive)

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.mitigated_at_source == Provenance.HUMAN
    assert not incident.timeline.filter(kind="status", body__startswith="Mitigated").exists()


# --- which incident a new alert joins ------------------------------------------------------------


def mitigated_incident(receive, *, minutes_ago: int) -> Incident:
    """An alert-opened incident whose only alert resolved `minutes_ago` minutes ago."""
    receive(data(minutes_ago=minutes_ago + 20))
    incident = Incident.objects.get()
    receive(
        AlertData(
            **{
                **data(status="resolved", minutes_ago=minutes_ago + 20).__dict__,
                "ends_at": NOW - timedelta(minutes=minutes_ago),
            }
        )
    )
    incident.refresh_from_db()
    assert incident.status == "mitigated"
    assert incident.mitigated_at == NOW - timedelta(minutes=minutes_ago)
    return incident


def test_a_flapping_alert_within_the_window_moves_the_incident_back_to_investigating(receive):
    incident = mitigated_incident(receive, minutes_ago=10)

    again = receive(data(key="k1-again", minutes_ago=2))  # same alert, a new startsAt

    assert Incident.objects.count() == 1
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.mitigated_at is None  # the alerts' mitigation did not hold
    assert incident.alert_links.filter(alert=again).exists()
    reopened = incident.timeline.get(kind="status", body__startswith="Investigating.")
    assert reopened.body.startswith("Investigating. Alert **ErrorRateHigh** fired again 8 min")
    assert reopened.source == "machine"


def test_a_firing_after_the_rejoin_window_opens_a_new_incident(receive):
    old = mitigated_incident(receive, minutes_ago=45)

    receive(data(key="k1-later", minutes_ago=2))

    assert Incident.objects.count() == 2
    old.refresh_from_db()
    assert old.status == "mitigated"
    new = Incident.objects.exclude(pk=old.pk).get()
    assert new.status == "investigating"
    assert new.alert_links.get().opened is True


def test_the_rejoin_window_is_a_setting(receive, settings):
    settings.ALERT_REJOIN_MINUTES = 60
    incident = mitigated_incident(receive, minutes_ago=45)

    receive(data(key="k1-later", minutes_ago=2))

    assert Incident.objects.count() == 1
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_a_new_minor_alert_joins_a_mitigated_incident_without_reopening_it(receive):
    incident = mitigated_incident(receive, minutes_ago=10)

    receive(data(key="w1", severity="warning", name="DiskFilling", fingerprint="fp9"))

    incident.refresh_from_db()
    assert incident.status == "mitigated"
    assert incident.alert_links.count() == 2


def test_a_firing_warning_of_the_same_alert_reopens_it(receive, settings):
    settings.ALERT_INCIDENT_THRESHOLD = "warning"
    receive(data(severity="warning", minutes_ago=30))
    resolve(receive, severity="warning", minutes_ago=30)
    assert Incident.objects.get().status == "mitigated"
    settings.ALERT_INCIDENT_THRESHOLD = "critical"

    receive(data(key="again", severity="warning", minutes_ago=1))

    assert Incident.objects.get().status == "investigating"


def test_joinable_for_is_one_rule_for_every_signal(user, settings):
    settings.ALERT_REJOIN_MINUTES = 30
    checkout = ServiceFactory(slug="checkout")
    at = NOW
    recent = IncidentFactory(
        services=[checkout],
        status="mitigated",
        started_at=at - timedelta(hours=1),
        mitigated_at=at - timedelta(minutes=29),
    )
    IncidentFactory(
        services=[checkout],
        status="mitigated",
        started_at=at - timedelta(hours=2),
        mitigated_at=at - timedelta(minutes=31),
    )
    investigating = IncidentFactory(
        services=[checkout], status="investigating", started_at=at - timedelta(days=3)
    )
    IncidentFactory(services=[checkout], status="resolved", started_at=at - timedelta(minutes=5))
    IncidentFactory(services=[checkout], is_deleted=True, started_at=at - timedelta(minutes=5))
    IncidentFactory(services=[ServiceFactory(slug="search")], started_at=at)

    assert list(Incident.objects.joinable_for(checkout, at)) == [investigating, recent]
