"""The "alerts & metrics" seed step: the login outage opened by an alert, with a visible dip."""

from __future__ import annotations

import pytest

from metrics_link.demo import catalog
from metrics_link.demo.story import LOGIN_OUTAGE_TITLE, DemoContext, anchor_now
from metrics_link.models import Alert, MetricPoint
from postmortems.demo import alerts, incidents
from postmortems.models import Incident, IncidentAlert
from postmortems.selectors.impact import impact_lines

pytestmark = pytest.mark.django_db


def test_the_login_outage_is_opened_by_an_alert_and_shows_its_dip(monkeypatch):
    monkeypatch.setattr(alerts, "DAYS", 20)  # 13 months in the real seed; 20 days suffice here
    ctx = DemoContext(now=anchor_now())
    notes: list[str] = []
    for step in (catalog.run, incidents.run, alerts.run):
        step(ctx, notes.append)

    login = Incident.objects.get(title=LOGIN_OUTAGE_TITLE)
    opener = IncidentAlert.objects.get(incident=login, opened=True).alert
    assert (opener.service.slug, opener.severity, opener.status) == (
        "accounts",
        "critical",
        "resolved",
    )
    assert opener.starts_at == login.started_at
    assert opener.ends_at == login.mitigated_at
    assert login.timeline.filter(alert=opener, dedupe_key=f"alert:{opener.pk}").count() == 1
    assert login.timeline.filter(dedupe_key=f"alert:{opener.pk}:resolved").count() == 1
    lines = impact_lines(login)
    assert any("fewer logins" in line for line in lines)
    assert any("less revenue" in line for line in lines)

    noise = Alert.objects.filter(incident_links__isnull=True)
    assert noise.exists()
    assert all("is below the threshold 'critical'" in a.outcome for a in noise)
    # Every incident under investigation still has a firing alert (all resolved → mitigated).
    for incident in Incident.objects.filter(status="investigating", alert_links__isnull=False):
        assert incident.alert_links.filter(alert__status="firing").exists()

    counts = (Alert.objects.count(), MetricPoint.objects.count(), login.timeline.count())
    alerts.run(ctx, notes.append)
    assert notes[-1] == "already seeded"
    assert (Alert.objects.count(), MetricPoint.objects.count(), login.timeline.count()) == counts
