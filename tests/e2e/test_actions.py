"""An owner finds their overdue item, closes it with a verification note; the manager's view."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import ActionItemFactory, IncidentFactory, TeamFactory

pytestmark = pytest.mark.browser


def test_close_an_item_with_a_verification_note(signed_in, live_server, shot):
    me = get_user_model().objects.get(username="oncall")
    team = TeamFactory(name="Platform", slug="platform", manager=me, members=[me])
    today = timezone.localdate()
    incident = IncidentFactory(title="Logins failing")
    item = ActionItemFactory(
        owner=me,
        team=team,
        incident=incident,
        title="Alert on database connection saturation",
        due_on=today - timedelta(days=9),
        type="detect",
        priority="p1",
    )
    ActionItemFactory(owner=me, team=team, title="Write the failover runbook", due_on=today)
    ActionItemFactory(team=team, title="Cap the pool size", due_on=today - timedelta(days=16))
    page = signed_in
    page.reload()
    expect(page.get_by_role("heading", name="My action items")).to_be_visible()
    expect(page.locator(".list .overdue", has_text="9d overdue")).to_be_visible()

    page.get_by_role("link", name="Actions", exact=True).click()
    expect(page.get_by_text("Overdue 7-14 days")).to_be_visible()
    shot("actions-list")
    page.get_by_role("link", name=item.title).click()
    expect(page.get_by_role("heading", name=item.title)).to_be_visible()

    page.get_by_text("Mark as done…").click()
    page.get_by_role("button", name="Close as done").click()  # empty note: refused
    expect(page.locator(".errorlist")).to_be_visible()
    page.get_by_label("Verification note").fill(
        "Drill on staging: the alert paged on-call within 2 minutes."
    )
    shot("action-close")
    page.get_by_role("button", name="Close as done").click()
    expect(page.locator(".callout-ok")).to_contain_text("paged on-call within 2 minutes")
    expect(page.locator(".page-header .badge").first).to_have_text("Done")
    shot("action-done")

    page.get_by_role("link", name="History").click()
    expect(page.get_by_text("Done", exact=True)).to_be_visible()

    page.goto(f"{live_server.url}/actions/teams/platform/")
    expect(page.get_by_role("heading", name=re.compile("Platform: action items"))).to_be_visible()
    expect(page.locator("#overdue-h")).to_be_visible()
    expect(page.get_by_role("link", name="Cap the pool size")).to_be_visible()
    shot("actions-team")

    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    expect(page.locator("#actions")).to_contain_text("1 of 1 done")
