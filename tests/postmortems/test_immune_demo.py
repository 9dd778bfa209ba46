"""The demo's recent weeks can be judged: one-minute business series, watched; the login outage's
culprit deploy would be caught by the immune system, a quiet deploy is healthy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from metrics_link.demo import catalog
from metrics_link.demo.story import CULPRIT_SERVICE, DemoContext, anchor_now, login_outage_window
from metrics_link.models import DeployWatch, MetricPoint, MetricSeries
from metrics_link.services.deploys import record_deploy
from metrics_link.services.watch import judge_deploy
from postmortems.demo import alerts, incidents

pytestmark = pytest.mark.django_db


def test_the_demo_series_are_watched_at_one_minute_and_catch_the_culprit(monkeypatch):
    monkeypatch.setattr(alerts, "DAYS", 20)
    ctx = DemoContext(now=anchor_now())
    for step in (catalog.run, incidents.run, alerts.run):
        step(ctx, lambda *_: None)
    revenue = MetricSeries.objects.get(name="revenue")
    assert revenue.watched and revenue.service is None
    start, *_ = login_outage_window(ctx.now)
    minute_points = MetricPoint.objects.filter(
        series=revenue, ts__gte=start - timedelta(minutes=10), ts__lt=start
    )
    assert minute_points.count() == 10
    culprit = record_deploy(service=CULPRIT_SERVICE, version="v2.41.0", finished_at=start).deploy
    quiet = record_deploy(
        service=CULPRIT_SERVICE, version="v2.40.9", finished_at=start - timedelta(days=2)
    ).deploy
    assert judge_deploy(culprit.pk).status == DeployWatch.Status.REGRESSED
    assert judge_deploy(quiet.pk).status == DeployWatch.Status.HEALTHY
