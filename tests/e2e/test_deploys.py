"""A responder opens an incident, sees the suspect deploys with the culprit first, and marks it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from postmortems.models import SuspectVerdict
from tests.factories import CommitFactory, DeployFactory, IncidentFactory, ServiceFactory

pytestmark = pytest.mark.browser


def test_the_incident_page_ranks_the_culprit_first_and_a_verdict_sticks(
    signed_in, live_server, shot
):
    accounts = ServiceFactory(slug="accounts", name="Accounts")
    other = ServiceFactory(slug="search", name="Search")
    incident = IncidentFactory(title="Logins failing", services=[accounts])
    culprit = DeployFactory(
        service=accounts,
        version="v2.41.0",
        deployer="julia",
        finished_at=incident.started_at - timedelta(minutes=40),
    )
    for i, message in enumerate(
        ["Add recently viewed panel", "Query recently viewed on master"]
        + [f"Tweak {n}" for n in range(12)]
    ):
        culprit.deploy_commits.create(
            commit=CommitFactory(repository="acme/accounts", message=message), position=i
        )
    DeployFactory(
        service=other, version="v9.0.1", finished_at=incident.started_at - timedelta(hours=7)
    )

    page = signed_in
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    # Verdicts are the incident's people's: one click makes Olive a responder.
    page.get_by_role("button", name="Join as responder").click()
    expect(page.get_by_text("You are a responder")).to_be_visible()
    section = page.locator("#suspects")
    expect(section.get_by_role("heading", name="Suspect deploys")).to_be_visible()
    first = section.locator("li.suspect").first
    expect(first).to_contain_text("accounts")
    expect(first).to_contain_text("v2.41.0")
    expect(first).to_contain_text("deployed 40 min before the start")
    expect(first).to_contain_text("Add recently viewed panel")
    expect(first).to_contain_text("and 4 more commits")
    shot("deploys-suspects")

    first.get_by_role("button", name="Culprit").click()
    expect(page.locator("#suspects li.suspect").first.locator(".verdict-badge")).to_have_text(
        "Culprit"
    )
    assert SuspectVerdict.objects.get().verdict == "culprit"
    page.reload()
    expect(
        page.locator("#suspects li.suspect").first.get_by_role("button", name="Culprit")
    ).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#timeline")).to_contain_text("as the culprit")
    shot("deploys-suspects-verdict")
