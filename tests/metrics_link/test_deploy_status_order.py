"""Deploy statuses arrive out of order: the newest by its own time wins, finished_at is set once."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from metrics_link.models import Deploy
from metrics_link.services.webhooks import process_delivery
from metrics_link.webhooks import github

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
SUCCESS_AT = "2024-03-14T09:26:47Z"


def status_payload(state: str, at: str, *, target_url: str = "") -> dict:
    payload = json.loads((FIXTURES / "github/deployment_status.success.json").read_bytes())
    payload = copy.deepcopy(payload)
    payload["deployment_status"]["state"] = state
    payload["deployment_status"]["created_at"] = at
    payload["deployment_status"]["updated_at"] = at
    if target_url:
        payload["deployment_status"]["target_url"] = target_url
    return payload


def deliver_github(client, payload: dict, delivery: str) -> None:
    body = json.dumps(payload).encode()
    response = client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "deployment_status",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": github.sign(body, "gh-test-secret"),
        },
    )
    assert response.status_code == 202, response.content
    done = process_delivery(delivery_id=response.json()["delivery"])
    assert done.status == "processed", done.error


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_a_failure_dated_before_the_stored_success_does_not_change_the_deploy(client):
    deliver_github(client, status_payload("success", SUCCESS_AT), "d-success")
    before = Deploy.objects.get()
    assert before.status == "success"

    deliver_github(client, status_payload("failure", "2024-03-14T09:20:00Z"), "d-late-failure")

    after = Deploy.objects.get()
    assert after.status == "success"
    assert after.finished_at == before.finished_at == at(SUCCESS_AT)
    assert after.status_at == at(SUCCESS_AT)
    assert after.updated_at == before.updated_at


def test_a_newer_failure_replaces_the_status_but_keeps_the_first_finish(client):
    deliver_github(client, status_payload("success", SUCCESS_AT), "d-success")
    deliver_github(client, status_payload("failure", "2024-03-14T10:00:00Z"), "d-failure")

    deploy = Deploy.objects.get()
    assert deploy.status == "failed"
    assert deploy.status_at == at("2024-03-14T10:00:00Z")
    assert deploy.finished_at == at(SUCCESS_AT)


def test_a_second_success_does_not_move_finished_at(client):
    deliver_github(client, status_payload("success", SUCCESS_AT), "d-1")
    deliver_github(client, status_payload("success", "2024-03-14T11:00:00Z"), "d-2")

    deploy = Deploy.objects.get()
    assert deploy.finished_at == at(SUCCESS_AT)


def test_an_explicit_finished_at_over_the_api_moves_it(api_client_for, user):
    api = api_client_for(user)
    first = api.post(
        "/api/deploys/",
        {
            "service": "web",
            "version": "v1",
            "external_id": "ci-1",
            "finished_at": "2024-03-14T09:00:00Z",
        },
        format="json",
    )
    assert first.status_code == 201, first.content
    moved = api.post(
        "/api/deploys/",
        {
            "service": "web",
            "version": "v1",
            "external_id": "ci-1",
            "finished_at": "2024-03-14T09:30:00Z",
        },
        format="json",
        headers={"Idempotency-Key": "second-call"},
    )
    assert moved.status_code == 200, moved.content
    assert Deploy.objects.get().finished_at == at("2024-03-14T09:30:00Z")


def test_a_repeated_cli_call_without_finished_at_keeps_the_recorded_finish():
    call_command(
        "record_deploy",
        "--service",
        "web",
        "--version",
        "v1",
        "--sha",
        "abc1234",
        "--external-id",
        "cli-1",
        "--finished-at",
        "2024-03-14T09:00:00+00:00",
    )
    call_command(
        "record_deploy",
        "--service",
        "web",
        "--version",
        "v1",
        "--sha",
        "abc1234",
        "--external-id",
        "cli-1",
        "--status",
        "failed",
    )

    deploy = Deploy.objects.get()
    assert deploy.status == "failed"
    assert deploy.finished_at == at("2024-03-14T09:00:00Z")


def test_an_explicit_finished_at_over_the_cli_moves_it():
    call_command(
        "record_deploy",
        "--service",
        "web",
        "--version",
        "v1",
        "--sha",
        "abc1234",
        "--external-id",
        "cli-1",
        "--finished-at",
        "2024-03-14T09:00:00+00:00",
    )
    call_command(
        "record_deploy",
        "--service",
        "web",
        "--version",
        "v1",
        "--sha",
        "abc1234",
        "--external-id",
        "cli-1",
        "--finished-at",
        "2024-03-14T09:45:00+00:00",
    )

    assert Deploy.objects.get().finished_at == at("2024-03-14T09:00:00Z") + timedelta(minutes=45)
