"""The beat's task on a real Celery worker (Redis): builds the week once and mails all staff."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from postmortems.config.celery import app
from postmortems.models import WeeklyReview
from postmortems.selectors.weekly import week_bounds
from postmortems.tasks.reviews import build_weekly_review_task
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_real_worker_builds_the_week_once_and_mails_it():
    _, start, _ = week_bounds("2026-W10")
    IncidentFactory(started_at=start + timedelta(days=1), title="Queue backlog")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        build_weekly_review_task.delay("2026-W10")
        build_weekly_review_task.delay("2026-W10")
        assert _wait_for(
            lambda: (
                WeeklyReview.objects.filter(mailed_at__isnull=False).exists()
                and len(mail.outbox) >= 1
            )
        ), "the worker did not build and mail the review in 20 s"
    assert WeeklyReview.objects.count() == 1
    assert len(mail.outbox) == 1
    assert "Queue backlog" in mail.outbox[0].body
