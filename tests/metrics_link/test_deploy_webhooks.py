"""Deploy webhooks end to end: signed requests → stored delivery → processing → deploys and commits.

Processing is called directly (never Celery's eager mode); enqueueing is asserted on commit.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from metrics_link.models import Commit, Deploy, WebhookDelivery
from metrics_link.services.webhooks import process_delivery, reprocess_deliveries
from metrics_link.webhooks import github

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
GH_SECRET = "gh-test-secret"  # tests/conftest.py
GL_TOKEN = "gl-test-token"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_bytes())


def post_github(client, event: str, payload, delivery: str, *, secret: str = GH_SECRET, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    return client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": github.sign(body, secret),
        },
    )


def post_gitlab(client, event: str, payload, uuid: str = "", token: str = GL_TOKEN):
    headers = {"X-Gitlab-Event": event, "X-Gitlab-Token": token}
    if uuid:
        headers["X-Gitlab-Event-UUID"] = uuid
    return client.post(
        "/hooks/gitlab/", data=json.dumps(payload), content_type="application/json", headers=headers
    )


def deliver(response) -> WebhookDelivery:
    """Run the processing the view enqueued, as the worker would."""
    return process_delivery(delivery_id=response.json()["delivery"])


# --- GitHub ------------------------------------------------------------------------------------


def test_githubs_published_signature_vector_verifies():
    assert github.verify(
        b"Hello, World!",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "It's a Secret to Everybody",
    )


@pytest.mark.django_db
def test_the_endpoint_accepts_githubs_published_vector_then_rejects_the_non_json_body(
    client, settings
):
    settings.GITHUB_WEBHOOK_SECRET = "It's a Secret to Everybody"
    response = client.post(
        "/hooks/github/",
        data=b"Hello, World!",
        content_type="application/json",
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "vector",
            "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        },
    )
    assert response.status_code == 400  # authentic, but not JSON
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db
def test_a_push_then_a_deployment_status_give_a_deploy_with_its_commits(
    client, django_capture_on_commit_callbacks
):
    push = fixture("github/push.new_branch.json")
    status = fixture("github/deployment_status.success.json")
    status["deployment"]["sha"] = push["after"]
    with django_capture_on_commit_callbacks() as callbacks:
        r1 = post_github(client, "push", push, "d-push")
    assert r1.status_code == 202
    assert len(callbacks) == 1
    assert deliver(r1).status == "processed"
    r2 = post_github(client, "deployment_status", status, "d-status")
    assert deliver(r2).status == "processed"

    deploy = Deploy.objects.get()
    assert (deploy.provider, deploy.external_id) == ("github", "1304455667")
    assert deploy.service.slug == "checkout-api"
    assert not deploy.service.claimed
    assert (deploy.environment, deploy.status, deploy.version) == (
        "production",
        "success",
        "v2.14.0",
    )
    assert deploy.sha == push["after"]
    assert deploy.deployer == "mira-devops"
    assert [c.sha for c in deploy.commits.all()] == [c["id"] for c in push["commits"]]


@pytest.mark.django_db
def test_a_failed_deployment_status_records_a_failed_deploy(client):
    r = post_github(
        client, "deployment_status", fixture("github/deployment_status.failure.json"), "f"
    )
    assert deliver(r).status == "processed"
    assert Deploy.objects.get().status == "failed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "payload"),
    [("ping", "github/ping.json"), ("deployment", "github/deployment.created.json")],
)
def test_ping_and_other_events_are_stored_and_ignored(client, event, payload):
    r = post_github(client, event, fixture(payload), f"x-{event}")
    assert r.status_code == 202
    assert deliver(r).status == "ignored"
    assert Deploy.objects.count() == 0


@pytest.mark.django_db
def test_an_unfinished_deployment_state_is_ignored(client):
    payload = fixture("github/deployment_status.success.json")
    payload["deployment_status"]["state"] = "in_progress"
    assert deliver(post_github(client, "deployment_status", payload, "p")).status == "ignored"
    assert Deploy.objects.count() == 0


@pytest.mark.django_db
def test_a_branch_deletion_push_with_no_commits_is_fine(client):
    r = post_github(client, "push", fixture("github/push.branch_deleted.json"), "del")
    assert deliver(r).status == "processed"
    assert Commit.objects.count() == 0


@pytest.mark.django_db
def test_a_bad_payload_is_kept_failed_with_its_error_and_can_be_reprocessed(client):
    payload = fixture("github/deployment_status.success.json")
    del payload["deployment"]["sha"]
    r = post_github(client, "deployment_status", payload, "bad")
    delivery = deliver(r)
    assert delivery.status == "failed"
    assert "deployment.sha" in delivery.error
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        body=json.dumps(fixture("github/deployment_status.success.json")).encode()
    )  # e.g. after a parser fix, the admin's "reprocess" runs it again
    assert reprocess_deliveries(deliveries=WebhookDelivery.objects.filter(pk=delivery.pk)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert delivery.attempts == 2
    assert Deploy.objects.count() == 1


# --- GitLab ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_gitlab_push_and_deployment_give_a_deploy_with_its_commits(client):
    push = fixture("gitlab/push.json")
    deployment = fixture("gitlab/deployment.success.json")
    full = push["after"]
    deployment["short_sha"] = full[:8]
    deployment["commit_url"] = f"https://gitlab.com/platform-team/billing-service/-/commit/{full}"
    assert deliver(post_gitlab(client, "Push Hook", push, "u-push")).status == "processed"
    assert (
        deliver(post_gitlab(client, "Deployment Hook", deployment, "u-dep")).status == "processed"
    )
    deploy = Deploy.objects.get()
    assert (deploy.provider, deploy.external_id, deploy.sha) == ("gitlab", "712330981", full)
    assert deploy.deployer == "ana.souza"
    assert deploy.finished_at.isoformat() == "2025-01-21T08:14:09+00:00"
    assert [c.sha for c in deploy.commits.all()] == [c["id"] for c in push["commits"]]


@pytest.mark.django_db
def test_a_gitlab_deployment_with_only_a_short_sha_finds_its_commits_by_prefix(client):
    push = fixture("gitlab/push.json")
    deployment = fixture("gitlab/deployment.success.json")
    deployment["short_sha"] = push["after"][:8]
    deployment["commit_url"] = "https://gitlab.example/rewritten"
    deliver(post_gitlab(client, "Deployment Hook", deployment, "u1"))
    deliver(post_gitlab(client, "Push Hook", push, "u2"))  # arrives late: links afterwards
    deploy = Deploy.objects.get()
    assert deploy.sha == push["after"][:8]
    assert deploy.commits.count() == len(push["commits"])


@pytest.mark.django_db
def test_a_failed_gitlab_deployment_is_a_failed_deploy_and_canceled_is_ignored(client):
    assert (
        deliver(
            post_gitlab(client, "Deployment Hook", fixture("gitlab/deployment.failed.json"))
        ).status
        == "processed"
    )
    canceled = post_gitlab(client, "Deployment Hook", fixture("gitlab/deployment.canceled.json"))
    assert deliver(canceled).status == "ignored"
    assert list(Deploy.objects.values_list("status", flat=True)) == ["failed"]


@pytest.mark.django_db
def test_a_wrong_gitlab_token_is_403_and_a_missing_one_401_storing_nothing(client):
    payload = fixture("gitlab/deployment.success.json")
    assert post_gitlab(client, "Deployment Hook", payload, token="nope").status_code == 403
    r = client.post("/hooks/gitlab/", data=json.dumps(payload), content_type="application/json")
    assert r.status_code == 401
    assert WebhookDelivery.objects.count() == 0


# --- replays, forgeries, limits ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_delivery_sent_1000_times_gives_one_delivery_and_one_deploy(client):
    payload = fixture("github/deployment_status.success.json")
    codes = [
        post_github(client, "deployment_status", payload, "same").status_code for _ in range(1000)
    ]
    # Still pending: each copy is accepted again (and its processing re-enqueued).
    assert set(codes) == {202}
    delivery = WebhookDelivery.objects.get()
    process_delivery(delivery_id=delivery.pk)
    process_delivery(delivery_id=delivery.pk)  # a redelivered task changes nothing either
    # Processed: a copy is a duplicate.
    again = post_github(client, "deployment_status", payload, "same")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert WebhookDelivery.objects.count() == 1
    assert Deploy.objects.count() == 1


@pytest.mark.django_db
def test_a_forged_signature_is_403_and_stores_nothing(client):
    payload = fixture("github/deployment_status.success.json")
    r = post_github(client, "deployment_status", payload, "forged", secret="not-the-secret")
    assert r.status_code == 403
    body = json.dumps(payload).encode()
    r2 = client.post(
        "/hooks/github/",
        data=body.replace(b"production", b"staging"),
        content_type="application/json",
        headers={
            "X-GitHub-Event": "deployment_status",
            "X-GitHub-Delivery": "swapped",
            "X-Hub-Signature-256": github.sign(body, GH_SECRET),
        },
    )
    assert r2.status_code == 403  # a body altered after signing
    missing = client.post("/hooks/github/", data=body, content_type="application/json")
    assert missing.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    assert Deploy.objects.count() == 0


@pytest.mark.django_db
def test_a_body_over_25_mb_is_413_and_stores_nothing(client):
    body = b"{" + b" " * (25 * 1024 * 1024) + b"}"
    r = post_github(client, "push", None, "big", body=body)
    assert r.status_code == 413
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_400_and_stores_nothing(client):
    r = post_github(client, "push", None, "broken", body=b'{"ref": ')
    assert r.status_code == 400
    assert "Malformed JSON" in r.json()["detail"]
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_copies_of_a_delivery_give_one_delivery_and_one_deploy():
    payload = fixture("github/deployment_status.success.json")
    body = json.dumps(payload).encode()
    barrier = threading.Barrier(50)
    codes: list[int] = []

    def send():
        try:
            barrier.wait()
            codes.append(
                post_github(Client(), "deployment_status", payload, "race", body=body).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202] * 50  # all accepted: the delivery is pending
    delivery = WebhookDelivery.objects.get()

    # The task redelivered to several workers at once still makes one deploy.
    process_barrier = threading.Barrier(8)

    def process():
        try:
            process_barrier.wait()
            process_delivery(delivery_id=delivery.pk)
        finally:
            connection.close()

    workers = [threading.Thread(target=process) for _ in range(8)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert WebhookDelivery.objects.count() == 1
    assert Deploy.objects.count() == 1


# --- the task ------------------------------------------------------------------------------------


def test_the_task_acks_late_and_retries_with_backoff_on_transient_errors_only():
    from metrics_link.services.webhooks import TransientError
    from metrics_link.tasks import process_delivery_task

    assert process_delivery_task.acks_late is True
    assert process_delivery_task.autoretry_for == (TransientError,)
    assert process_delivery_task.retry_backoff is True


@pytest.mark.django_db
def test_a_transient_failure_is_raised_for_a_retry_and_leaves_the_delivery_pending(
    client, monkeypatch
):
    from django.db import OperationalError

    from metrics_link.services import deploys
    from metrics_link.services.webhooks import TransientError

    def busy(**kwargs):
        raise OperationalError("could not obtain lock")

    monkeypatch.setattr(deploys, "record_deploy", busy)
    r = post_github(
        client, "deployment_status", fixture("github/deployment_status.success.json"), "t"
    )
    with pytest.raises(TransientError):
        deliver(r)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "received"
    assert delivery.error.startswith("retrying")
    monkeypatch.undo()
    assert deliver(r).status == "processed"
    assert Deploy.objects.count() == 1
