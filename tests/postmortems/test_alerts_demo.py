"""The "alerts & metrics" seed step: the login outage's alerts fire after the immune system's
verdict (which opened it) and join it; a visible dip."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from metrics_link.demo import catalog
from metrics_link.demo.story import LOGIN_ALERT, LOGIN_OUTAGE_TITLE, DemoContext, anchor_now
from metrics_link.models import Alert, MetricPoint
from postmortems.demo import alerts, incidents
from postmortems.models import Incident, IncidentAlert
from postmortems.selectors.impact import impact_lines

pytestmark = pytest.mark.django_db


def test_the_login_outages_alerts_join_it_after_the_verdict_and_it_shows_its_dip(monkeypatch):
    monkeypatch.setattr(alerts, "DAYS", 20)  # 13 months in the real seed; 20 days suffice here
    ctx = DemoContext(now=anchor_now())
    notes: list[str] = []
    for step in (catalog.run, incidents.run, alerts.run):
        step(ctx, notes.append)

    login = Incident.objects.get(title=LOGIN_OUTAGE_TITLE)
    assert login.origin == Incident.Origin.IMMUNE
    assert not IncidentAlert.objects.filter(incident=login, opened=True).exists()
    opener = IncidentAlert.objects.get(incident=login, alert__name=LOGIN_ALERT).alert
    assert (opener.service.slug, opener.severity, opener.status) == (
        "accounts",
        "critical",
        "resolved",
    )
    # Every alert fires after the watch window: the verdict detected the outage first.
    first_alert = min(link.alert.starts_at for link in login.alert_links.all())
    assert first_alert > login.detected_at
    assert login.detected_at - login.started_at > timedelta(seconds=settings.DEPLOY_WATCH_SECONDS)
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
