"""A real Celery worker on Redis processes a stored delivery end to end (marker: worker)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from metrics_link.models import Deploy, WebhookDelivery
from metrics_link.webhooks import github
from postmortems.config.celery import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_turns_a_delivery_into_a_deploy(client, settings):
    assert not app.conf.task_always_eager, "the test must go through the broker"
    app.control.purge()  # messages left by earlier tests (their rows are gone) would only slow it
    body = (FIXTURES / "github/deployment_status.success.json").read_bytes()
    # The worker runs in a thread of this process against the broker in $CELERY_BROKER_URL and
    # the same test database, which it sees because transaction=True really commits.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        response = client.post(
            "/hooks/github/",
            data=body,
            content_type="application/json",
            headers={
                "X-GitHub-Event": "deployment_status",
                "X-GitHub-Delivery": "worker-1",
                "X-Hub-Signature-256": github.sign(body, settings.GITHUB_WEBHOOK_SECRET),
            },
        )
        assert response.status_code == 202
        delivery = WebhookDelivery.objects.get(key="worker-1")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # polling for the outcome, not sleeping as an assertion
            delivery.refresh_from_db()
            if delivery.status != WebhookDelivery.Status.RECEIVED:
                break
            time.sleep(0.05)
    connection.close()
    assert delivery.status == WebhookDelivery.Status.PROCESSED, delivery.error
    assert delivery.attempts == 1
    deploy = Deploy.objects.get()
    assert deploy.external_id == str(json.loads(body)["deployment"]["id"])
