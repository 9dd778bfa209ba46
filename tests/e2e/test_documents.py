"""Browser: write, review and publish a postmortem as one person; read and search it as another."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import IncidentFactory, ServiceFactory, TimelineEntryFactory, UserFactory

pytestmark = pytest.mark.browser


def test_a_postmortem_is_drafted_reviewed_published_then_read_and_searched_by_a_colleague(
    transactional_db, live_server, page, login, shot
):
    author = UserFactory(username="olive", first_name="Olive", last_name="Oncall")
    reader = UserFactory(username="rita", first_name="Rita", last_name="Reader")
    incident = IncidentFactory(
        title="Checkout connection pool exhausted",
        severity="sev3",
        resolved=True,
        commander=author,
        services=[ServiceFactory(slug="checkout")],
        impact="Checkout failed for 12% of customers for 30 minutes.",
    )
    TimelineEntryFactory(incident=incident, body="Pool at its limit; rolled back.", starred=True)

    login(author)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/postmortem/")
    page.get_by_role("button", name="Generate the draft").click()
    expect(page.locator("#h-summary")).to_be_visible()

    page.get_by_label("Lessons (Markdown)").fill(
        "Give every service a **connection budget** so one feature cannot starve checkout."
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Saved: Lessons.")).to_be_visible()

    # The searchable picker: type part of a name, Enter picks the first match.
    reviewers = page.get_by_role("combobox", name="Named reviewers")
    reviewers.fill("olive")
    reviewers.press("Enter")
    expect(page.locator(".picker-chip", has_text="Olive Oncall")).to_be_visible()
    shot("documents-editor")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()

    page.get_by_label("Comment").fill("Clear and blameless.")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Approved.", exact=True)).to_be_visible()
    page.get_by_role("button", name="Publish").click()

    expect(page).to_have_url(re.compile(rf"/postmortems/{incident.pk}/$"))
    expect(page.get_by_role("heading", name="Checkout connection pool exhausted")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    login(reader)
    expect(page.get_by_text("Latest published postmortems")).to_be_visible()
    page.goto(f"{live_server.url}/postmortems/")
    page.get_by_role("searchbox", name="Search").fill("connection budget")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 postmortem matching")).to_be_visible()
    expect(page.locator(".pm-snippet mark").first).to_be_visible()
    shot("documents-library")
    page.get_by_role("link", name="Checkout connection pool exhausted").click()
    expect(page.locator(".pm-document")).to_contain_text("connection budget")
    expect(page.get_by_text("Approved · Olive Oncall")).to_be_visible()
    shot("documents-published")
