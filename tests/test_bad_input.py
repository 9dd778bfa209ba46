"""Input nothing can store or parse is a 400 with a message, never a 500 (NUL, deep JSON, huge
numbers, over-long delivery ids). The database does not change."""

from __future__ import annotations

import json

import pytest

from metrics_link.models import WebhookDelivery
from metrics_link.services.webhooks import process_delivery
from metrics_link.webhooks import github, pagerduty
from postmortems.models import ActionItem, Experiment, Incident

pytestmark = pytest.mark.django_db

DEEP = b"[" * 100_000 + b"]" * 100_000


def message(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/feeds/%00/postmortems.atom",
        "/feeds/%00/reviews.atom",
        "/feeds/abc%00def/actions.ics",
        "/reviews/2024-W01%00/",
        "/services/%00/",
    ],
)
def test_a_nul_in_the_path_is_a_400_with_a_message(client_for, user, url):
    response = client_for(user).get(url)
    assert response.status_code == 400
    assert "NUL" in message(response)


def test_a_nul_in_a_feed_path_is_a_400_even_signed_out(client):
    response = client.get("/feeds/%00/postmortems.atom")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/incidents/?q=%00",
        "/postmortems/?q=%00",
        "/actions/?owner=%00",
        "/actions/?team=%00",
        "/actions/?q=a%00b",
        "/api/incidents/?service=%00",
        "/api/deploys/?service=x%00",
        "/incidents/?%00=1",
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_with_a_message(client_for, user, url):
    response = client_for(user).get(url)
    assert response.status_code == 400
    assert "NUL" in message(response)


def test_a_nul_in_a_people_field_of_a_form_is_a_400_and_saves_nothing(client_for, user, team):
    response = client_for(user).post(
        "/actions/new/",
        {
            "title": "Add a retry",
            "owner": "\x00",
            "team": team.pk,
            "type": "prevent",
            "priority": "p2",
        },
    )
    assert response.status_code == 400
    assert "NUL" in message(response)
    assert ActionItem.objects.count() == 0


def test_a_nul_in_a_json_field_is_a_400_and_saves_nothing(api_client_for, user, service):
    response = api_client_for(user).post(
        "/api/incidents/",
        data=json.dumps({"title": "Down\u0000", "severity": "sev2", "services": [service.slug]}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_a_nul_in_a_json_people_field_is_a_400(api_client_for, user, incident):
    response = api_client_for(user).post(
        "/api/action-items/",
        data=json.dumps({"title": "Fix", "owner": "bob\u0000", "incident": incident.pk}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert ActionItem.objects.count() == 0


def test_deeply_nested_json_on_the_api_is_a_400(api_client_for, user):
    response = api_client_for(user).post(
        "/api/incidents/", data=DEEP, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert Incident.objects.count() == 0


def _signed(provider: str, body: bytes, delivery: str = "d-1") -> dict:
    if provider == "github":
        return {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": github.sign(body, "gh-test-secret"),
        }
    if provider == "gitlab":
        return {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "gl-test-token"}
    if provider == "alertmanager":
        return {"Authorization": "Bearer am-test-token"}
    return {"X-PagerDuty-Signature": pagerduty.sign(body, "pd-test-secret")}


PROVIDERS = ["github", "gitlab", "alertmanager", "pagerduty"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deeply_nested_json_on_a_webhook_is_a_400_and_stores_nothing(client, provider):
    response = client.post(
        f"/hooks/{provider}/",
        data=DEEP,
        content_type="application/json",
        headers=_signed(provider, DEEP),
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_nul_in_a_signed_webhook_body_is_a_400_and_stores_nothing(client, provider):
    body = json.dumps({"event": {"id": "e-1", "event_type": "x\u0000"}, "ref": "\u0000"}).encode()
    response = client.post(
        f"/hooks/{provider}/",
        data=body,
        content_type="application/json",
        headers=_signed(provider, body),
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert WebhookDelivery.objects.count() == 0


def test_a_webhook_signature_is_still_checked_first_on_the_raw_body(client):
    response = client.post(
        "/hooks/github/",
        data=DEEP,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "d",
            "X-Hub-Signature-256": github.sign(b"something else", "gh-test-secret"),
        },
    )
    assert response.status_code == 403
    assert WebhookDelivery.objects.count() == 0


def test_a_form_encoded_webhook_body_reaches_its_view_unread(client):
    body = b"payload=%00"  # GitHub can send form bodies; the view verifies these exact bytes
    response = client.post(
        "/hooks/github/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=_signed("github", body),
    )
    assert response.status_code == 400  # our own "Malformed JSON", after a verified signature
    assert "Malformed JSON" in response.json()["detail"]


def test_a_github_delivery_id_over_200_characters_is_a_400_and_stores_nothing(client):
    body = b"{}"
    response = client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers=_signed("github", body, delivery="x" * 201),
    )
    assert response.status_code == 400
    assert "200" in response.json()["detail"]
    assert WebhookDelivery.objects.count() == 0


def test_a_pagerduty_event_id_over_200_characters_is_a_400_and_its_retry_too(client):
    body = json.dumps({"event": {"id": "e" * 300, "event_type": "pagey.ping"}}).encode()
    for _ in range(2):
        response = client.post(
            "/hooks/pagerduty/",
            data=body,
            content_type="application/json",
            headers=_signed("pagerduty", body),
        )
        assert response.status_code == 400
    assert WebhookDelivery.objects.count() == 0


def test_a_delivery_id_of_exactly_200_characters_is_stored_whole_and_found_again(client):
    body = b"{}"
    key = "k" * 200
    first = client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers=_signed("github", body, delivery=key),
    )
    process_delivery(delivery_id=WebhookDelivery.objects.get().pk)
    again = client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers=_signed("github", body, delivery=key),
    )
    # Found again by its whole key: a repeat of a processed delivery is a duplicate.
    assert (first.status_code, again.status_code) == (202, 200)
    assert WebhookDelivery.objects.get().key == key


@pytest.mark.parametrize(
    "field",
    ["control_trials", "control_conversions", "experiment_trials", "experiment_conversions"],
)
def test_an_experiment_count_too_big_to_store_is_a_400(api_client_for, user, field):
    response = api_client_for(user).post(
        "/api/experiments/", {"name": "Checkout button", field: 10**12}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert Experiment.objects.count() == 0
