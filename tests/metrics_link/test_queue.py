"""Handing work to the broker never fails the request that committed it (metrics_link/queue.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kombu.exceptions import OperationalError

from metrics_link import tasks
from metrics_link.models import WebhookDelivery
from metrics_link.webhooks import github

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.process_delivery_task, "apply_async", refuse)


def _post(client, settings, key):
    body = (FIXTURES / "github/deployment_status.success.json").read_bytes()
    return client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "deployment_status",
            "X-GitHub-Delivery": key,
            "X-Hub-Signature-256": github.sign(body, settings.GITHUB_WEBHOOK_SECRET),
        },
    )


@pytest.mark.django_db
def test_a_webhook_accepted_while_the_broker_is_down_answers_202_and_stays_pending(
    client, settings, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, settings, "outage-1")
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get(key="outage-1")
    assert delivery.status == WebhookDelivery.Status.RECEIVED
    assert delivery.attempts == 0


@pytest.mark.django_db
def test_the_broker_error_is_logged_without_its_text(settings, broker_down, caplog):
    from metrics_link.queue import publish

    assert publish(tasks.process_delivery_task, 7) is False
    assert "OperationalError" in caplog.text
    assert "Connection refused" not in caplog.text


@pytest.mark.django_db
def test_a_redelivery_of_a_still_pending_key_is_enqueued_again_not_called_duplicate(
    client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise OperationalError("down")

    monkeypatch.setattr(tasks.process_delivery_task, "apply_async", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, settings, "retry-1")
    published = []
    monkeypatch.setattr(
        tasks.process_delivery_task, "apply_async", lambda args, **kw: published.append(args)
    )
    with django_capture_on_commit_callbacks(execute=True):
        again = _post(client, settings, "retry-1")  # GitHub's retry, the broker back
    assert again.status_code == 202
    assert again.json()["duplicate"] is False
    delivery = WebhookDelivery.objects.get(key="retry-1")
    assert published == [(delivery.pk,)]
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
def test_a_redelivery_of_a_processed_key_is_still_a_duplicate(
    client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from metrics_link.services.webhooks import process_delivery

    published = []
    monkeypatch.setattr(
        tasks.process_delivery_task, "apply_async", lambda args, **kw: published.append(args)
    )
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, settings, "done-1")
    process_delivery(delivery_id=published[0][0])
    with django_capture_on_commit_callbacks(execute=True):
        again = _post(client, settings, "done-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(published) == 1
