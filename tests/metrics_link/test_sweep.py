"""The sweep publishes again what a broker outage left pending (beat every minute, worker start)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from metrics_link import tasks
from metrics_link.models import OutboxMessage, WebhookDelivery
from metrics_link.services import outbox
from metrics_link.services.sweep import sweep_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    calls: list[tuple[str, tuple]] = []
    for task in (
        tasks.process_delivery_task,
        tasks.send_outbox_message_task,
        tasks.sweep_pending_task,
    ):
        monkeypatch.setattr(
            task, "apply_async", lambda args=(), _n=task.name, **kw: calls.append((_n, args))
        )
    return calls


def _delivery(key, age_seconds, status=WebhookDelivery.Status.RECEIVED):
    with time_machine.travel(timezone.now() - timedelta(seconds=age_seconds), tick=False):
        return WebhookDelivery.objects.create(
            provider="github",
            key=key,
            event="deployment_status",
            headers={},
            body=b"{}",
            status=status,
        )


def test_deliveries_still_received_after_the_sweep_age_are_published_again(settings, published):
    settings.PENDING_SWEEP_SECONDS = 60
    old = _delivery("old", 120)
    _delivery("young", 10)  # its first publish may still be on its way
    _delivery("done", 600, status=WebhookDelivery.Status.PROCESSED)
    _delivery("failed", 600, status=WebhookDelivery.Status.FAILED)
    result = sweep_pending()
    assert result.deliveries == [old.pk]
    assert published == [(tasks.process_delivery_task.name, (old.pk,))]


def test_the_sweep_age_is_a_setting(settings, published):
    settings.PENDING_SWEEP_SECONDS = 5
    row = _delivery("d", 10)
    assert sweep_pending().deliveries == [row.pk]


def test_outbox_messages_are_published_when_their_next_attempt_is_due(settings, published):
    settings.PENDING_SWEEP_SECONDS = 60
    fresh, _ = outbox.queue_message(channel="mail", payload={}, dedupe_key="fresh")
    # Queued 61 s ago: their first attempt (a sweep age after queueing) was due a second ago.
    with time_machine.travel(timezone.now() - timedelta(seconds=61), tick=False):
        due, _ = outbox.queue_message(channel="mail", payload={}, dedupe_key="due")
        sent, _ = outbox.queue_message(channel="mail", payload={}, dedupe_key="sent")
    OutboxMessage.objects.filter(pk=sent.pk).update(status=OutboxMessage.Status.SENT)
    result = sweep_pending()
    assert result.messages == [due.pk]
    assert (tasks.send_outbox_message_task.name, (due.pk,)) in published
    assert all(args != (fresh.pk,) for _, args in published)


def test_a_sweep_with_the_broker_still_down_says_so_and_keeps_the_rows(settings, monkeypatch):
    from kombu.exceptions import OperationalError

    def refuse(*a, **k):
        raise OperationalError("down")

    monkeypatch.setattr(tasks.process_delivery_task, "apply_async", refuse)
    settings.PENDING_SWEEP_SECONDS = 1
    row = _delivery("d", 10)
    result = sweep_pending()
    assert not result.published and "broker unavailable" in result.summary()
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.RECEIVED


def test_a_starting_worker_asks_for_a_sweep_first(published):
    tasks.sweep_when_a_worker_starts(sender=None)
    assert published == [(tasks.sweep_pending_task.name, ())]


def test_the_sweep_runs_every_minute_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-pending"]
    assert entry["task"] == tasks.sweep_pending_task.name
    assert entry["schedule"] == 60.0
