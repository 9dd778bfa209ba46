"""The seed step builds every section with data, once."""

from __future__ import annotations

import time

import pytest

from metrics_link.demo import catalog
from metrics_link.demo.story import DemoContext, anchor_now
from postmortems.demo import incidents, reviews
from postmortems.models import Experiment, Recurrence, Retrospective, WeeklyReview

pytestmark = pytest.mark.django_db


def test_the_seed_step_builds_twelve_reviews_once_and_quickly():
    ctx = DemoContext(now=anchor_now())
    notes = []
    catalog.run(ctx, notes.append)
    incidents.run(ctx, notes.append)
    started = time.monotonic()
    reviews.run(ctx, notes.append)
    took = time.monotonic() - started
    reviews.run(ctx, notes.append)  # idempotent

    assert WeeklyReview.objects.filter(published=True).count() == 12
    assert Recurrence.objects.filter(status="confirmed").count() == 1
    assert Experiment.objects.count() == 3
    assert Retrospective.objects.values("team").distinct().count() == 4
    latest = WeeklyReview.objects.first().snapshot
    assert latest["dora"]["deploys"] > 0
    assert latest["business"]["series"]
    assert latest["experiments"]["experiments"]
    assert took < 30, f"the reviews seed step took {took:.1f}s"
