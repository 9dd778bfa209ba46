"""Journey: a postmortem is drafted from the incident page, several sections are filled and saved
once, it is submitted with two reviewers chosen on the same form, each reviewer finds it under
"Waiting for my review" on their own home page (own browser context) and approves, the author
publishes, and an employee finds it in the library. Links are followed as a person would."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from postmortems.config.celery import app as celery_app
from postmortems.models.documents import Postmortem
from tests.e2e.conftest import SCREENSHOT_DIR
from tests.factories import IncidentFactory, ServiceFactory, TimelineEntryFactory, UserFactory

pytestmark = pytest.mark.browser

SECTIONS = {
    "What went well": "The pager fired within a minute and the rollback took four minutes.",
    "What went poorly": "The runbook pointed at a retired dashboard.",
    "Lessons": "Give every service a **connection budget** so one feature cannot starve checkout.",
}


def sign_in(page, live_server, user, password="pw"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page


def review_from_own_account(browser, live_server, reviewer, incident, comment):
    context = browser.new_context()
    page = sign_in(context.new_page(), live_server, reviewer)
    waiting = page.get_by_role("region", name="Waiting for my review")
    expect(waiting).to_contain_text(incident.title)
    waiting.get_by_role("link", name=re.compile(rf"Postmortem of #{incident.pk}")).click()
    expect(page).to_have_url(re.compile(rf"/incidents/{incident.pk}/postmortem/"))
    page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Approved.", exact=True)).to_be_visible()
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("region", name="Waiting for my review")).to_contain_text(
        "Nothing waits for your review."
    )
    context.close()


def test_drafted_submitted_approved_by_two_reviewers_published_and_found_in_the_library(
    transactional_db, live_server, browser, page, login, shot, monkeypatch
):
    # No broker in this run: the reviewers' mail is sent in-process, so the journey can read it.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    author = UserFactory(username="olive", first_name="Olive", last_name="Oncall")
    first = UserFactory(username="rhea", first_name="Rhea", last_name="Reviewer")
    second = UserFactory(username="sam", first_name="Sam", last_name="Second")
    employee = UserFactory(username="erin", first_name="Erin", last_name="Employee")
    incident = IncidentFactory(
        title="Checkout connection pool exhausted",
        severity="sev1",  # two approvals required
        resolved=True,
        commander=author,
        services=[ServiceFactory(slug="checkout")],
        impact="Checkout failed for 12% of customers for 30 minutes.",
    )
    TimelineEntryFactory(incident=incident, body="Pool at its limit; rolled back.", starred=True)

    # The author drafts it from the incident page.
    login(author)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    page.locator("#postmortem").get_by_role("button", name="Generate the draft").click()
    expect(page.get_by_text("Draft generated from the incident.")).to_be_visible()

    # Several sections, one save.
    for title, text in SECTIONS.items():
        page.get_by_label(f"{title} (Markdown)").fill(text)
    expect(page.locator("[data-unsaved-note]")).to_have_text("You have unsaved changes.")

    # Leaving with unsaved text asks first; staying keeps every word.
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.get_by_role("link", name=f"#{incident.pk} {incident.title}").click()
    expect(page).to_have_url(re.compile(rf"/incidents/{incident.pk}/postmortem/"))
    assert dialogs == ["beforeunload"]
    expect(page.get_by_label("Lessons (Markdown)")).to_have_value(SECTIONS["Lessons"])

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Saved: What went well, What went poorly, Lessons.")).to_be_visible()
    for title, text in SECTIONS.items():
        expect(page.get_by_label(f"{title} (Markdown)")).to_have_value(text)
    page.set_viewport_size({"width": 1440, "height": 900})
    shot("journey-postmortem-editor")
    page.get_by_label("What went well (Markdown)").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT_DIR / "journey-postmortem-editor-viewport.png"))

    # Two reviewers chosen and submitted with one press (no separate "save reviewers").
    reviewers = page.get_by_role("combobox", name="Named reviewers")
    for name in ("rhea", "sam sec"):
        reviewers.fill(name)
        reviewers.press("Enter")
    expect(page.locator(".picker-chip", has_text="Rhea Reviewer")).to_be_visible()
    expect(page.locator(".picker-chip", has_text="Sam Second")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()
    review = page.locator("#review")
    expect(review).to_contain_text("Rhea Reviewer")
    expect(review).to_contain_text("Sam Second")
    told = sorted(m.to[0] for m in mail.outbox if m.subject.startswith("Review requested"))
    assert told == sorted([first.email, second.email])
    link = f"/incidents/{incident.pk}/postmortem/#review"
    assert all(link in m.body for m in mail.outbox if m.subject.startswith("Review requested"))

    # Each reviewer, in their own browser, finds it on home and approves.
    review_from_own_account(browser, live_server, first, incident, "Clear and blameless.")
    review_from_own_account(browser, live_server, second, incident, "Numbers check out.")

    # The author publishes.
    page.reload()
    expect(page.locator("#review")).to_contain_text("it has 2")
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(rf"/postmortems/{incident.pk}/$"))
    expect(page.get_by_role("heading", name=incident.title)).to_be_visible()
    assert Postmortem.objects.get(incident=incident).status == Postmortem.Status.PUBLISHED

    # An employee finds it in the library, from the main navigation.
    context = browser.new_context()
    reader = sign_in(context.new_page(), live_server, employee)
    reader.get_by_role("navigation", name="Main").get_by_role("link", name="Postmortems").click()
    reader.get_by_role("searchbox", name="Search").fill("connection budget")
    reader.get_by_role("button", name="Search").click()
    reader.get_by_role("link", name=incident.title).click()
    expect(reader.locator(".pm-document")).to_contain_text("connection budget")
    expect(reader.locator(".pm-document")).to_contain_text("retired dashboard")
    context.close()


def test_two_editors_never_overwrite_each_other_and_the_second_merges(
    transactional_db, live_server, browser, page, login, shot
):
    from postmortems.services import documents as svc

    author = UserFactory(username="olive", first_name="Olive", last_name="Oncall")
    colleague = UserFactory(username="cora", first_name="Cora", last_name="Colleague")
    incident = IncidentFactory(title="Search index lag", commander=author, responders=[colleague])
    svc.generate_draft(incident=incident, by=author)
    editor_url = f"{live_server.url}/incidents/{incident.pk}/postmortem/"

    login(author)
    page.goto(editor_url)
    other = sign_in(browser.new_context().new_page(), live_server, colleague)
    other.goto(editor_url)

    other.get_by_label("Lessons (Markdown)").fill("Alert on index lag, not on errors.")
    other.get_by_role("button", name="Save draft").click()
    expect(other.get_by_text("Saved: Lessons.")).to_be_visible()

    page.get_by_label("Lessons (Markdown)").fill("Budget the indexer's queue.")
    page.get_by_label("What went well (Markdown)").fill("Failover to the replica worked.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("alert")).to_contain_text("Cora Colleague saved this postmortem")
    expect(page.get_by_label("Their text")).to_have_value("Alert on index lag, not on errors.")
    expect(page.get_by_label("Lessons (Markdown)")).to_have_value("Budget the indexer's queue.")
    expect(page.get_by_label("What went well (Markdown)")).to_have_value(
        "Failover to the replica worked."
    )
    page.locator("#section-lessons").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT_DIR / "journey-postmortem-stale.png"))

    page.get_by_label("Lessons (Markdown)").fill(
        "Alert on index lag, not on errors. Budget the indexer's queue."
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Saved: What went well, Lessons.")).to_be_visible()
    saved = Postmortem.objects.get(incident=incident).sections
    assert saved["lessons"] == "Alert on index lag, not on errors. Budget the indexer's queue."
    assert saved["went_well"] == "Failover to the replica worked."
