"""URLs that arrive from outside are stored as sent, but only http(s) ones become links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics_link.models import Alert, Deploy, DeployCommit
from metrics_link.services.webhooks import process_delivery
from metrics_link.templatetags.links import http_url
from metrics_link.webhooks import github, pagerduty
from postmortems.models import IncidentAlert
from tests.factories import (
    ActionItemFactory,
    AlertFactory,
    CommitFactory,
    DeployFactory,
    WhyNodeFactory,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "webhooks"
EVIL = "javascript:alert(1)"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_bytes())


def no_script_link(html: str) -> None:
    lowered = html.lower()
    assert 'href="javascript:' not in lowered
    assert 'href="java\tscript:' not in lowered


@pytest.mark.parametrize(
    "value",
    [
        EVIL,
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,x",
        "/relative",
        "ftp://host/x",
        "https:no-host",
        "",
    ],
)
def test_only_http_urls_with_a_host_pass_the_filter(value):
    assert http_url(value) == ""


def test_http_and_https_urls_pass_the_filter_unchanged():
    assert http_url("https://ci.example/run/1") == "https://ci.example/run/1"
    assert http_url("http://grafana:3000/d/x") == "http://grafana:3000/d/x"


def test_a_github_target_url_with_javascript_is_stored_but_not_linked(client_for, user):
    payload = fixture("github/deployment_status.success.json")
    payload["deployment_status"]["target_url"] = EVIL
    body = json.dumps(payload).encode()
    response = client_for(user).post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "deployment_status",
            "X-GitHub-Delivery": "evil",
            "X-Hub-Signature-256": github.sign(body, "gh-test-secret"),
        },
    )
    assert process_delivery(delivery_id=response.json()["delivery"]).status == "processed"
    deploy = Deploy.objects.get()
    assert deploy.url == EVIL  # kept as sent

    page = client_for(user).get(deploy.get_absolute_url()).content.decode()
    assert "javascript:alert(1)" in page  # shown as text
    no_script_link(page)


def test_a_commit_url_with_javascript_is_not_linked_on_the_deploy_page(client_for, user, service):
    deploy = DeployFactory(service=service)
    commit = CommitFactory(repository=deploy.repository, url=EVIL)
    DeployCommit.objects.create(deploy=deploy, commit=commit, position=0)

    page = client_for(user).get(deploy.get_absolute_url()).content.decode()
    assert commit.short_sha in page
    no_script_link(page)


def test_a_gitlab_deployable_url_with_javascript_is_not_linked(client_for, user, service):
    deploy = DeployFactory(service=service, url="javascript:fetch('/x')", provider="gitlab")
    no_script_link(client_for(user).get(deploy.get_absolute_url()).content.decode())


def test_an_alertmanager_generator_url_with_javascript_is_not_linked(client_for, user, incident):
    alert = AlertFactory(url=EVIL, service=incident.services.first())
    IncidentAlert.objects.create(incident=incident, alert=alert)
    client = client_for(user)
    no_script_link(client.get("/alerts/").content.decode())
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert alert.name in page
    no_script_link(page)


def test_a_pagerduty_html_url_with_javascript_is_stored_but_not_linked(client_for, user):
    payload = fixture("pagerduty/incident.triggered.json")
    payload["event"]["data"]["html_url"] = EVIL
    body = json.dumps(payload).encode()
    response = client_for(user).post(
        "/hooks/pagerduty/",
        data=body,
        content_type="application/json",
        HTTP_X_PAGERDUTY_SIGNATURE=pagerduty.sign(body, "pd-test-secret"),
    )
    assert process_delivery(delivery_id=response.json()["delivery"]).status == "processed"
    assert Alert.objects.get().url == EVIL
    no_script_link(client_for(user).get("/alerts/").content.decode())


def test_a_ticket_url_with_javascript_is_not_linked(client_for, user):
    item = ActionItemFactory(owner=user, ticket_url=EVIL)
    page = client_for(user).get(f"/actions/{item.pk}/").content.decode()
    assert item.title in page
    no_script_link(page)


def test_an_evidence_link_with_javascript_is_not_linked(client_for, user, incident):
    node = WhyNodeFactory(
        incident=incident, author=user, evidence_links=[EVIL, "https://grafana.example/d/1"]
    )
    page = client_for(user).get(f"/incidents/{incident.pk}/whys/?node={node.pk}").content.decode()
    no_script_link(page)
