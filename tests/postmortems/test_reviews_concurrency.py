"""Two workers building the same week at once still give one review (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from postmortems.models import WeeklyReview
from postmortems.selectors.weekly import week_bounds
from postmortems.services.reviews import build_weekly_review
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_builds_of_one_week_make_one_review():
    _, start, _ = week_bounds("2026-W10")
    IncidentFactory(started_at=start + timedelta(days=1))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def build():
        try:
            barrier.wait()
            results.append(build_weekly_review(week="2026-W10", mail=False))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    assert WeeklyReview.objects.count() == 1
    assert sorted(built for _, built in results) == [False, True]
    assert len({review.pk for review, _ in results}) == 1
