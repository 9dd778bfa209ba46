"""A team runs the five whys from the home page: five levels, a branch that stops early on the
record, a corrective action at every level, and the chain closes the incident as resolved.
Each level is one form: type the answer, choose the category, type the action, press "Why?".
The journey counts what the person does per level and fails above four."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from postmortems.models import ActionItem, Incident, WhyNode
from tests.e2e.interactions import Interactions
from tests.factories import IncidentFactory, ServiceFactory, TeamFactory

pytestmark = pytest.mark.browser

BUDGET = 4  # interactions per why level, the action included (issue 16)

CHAIN = [
    ("The master database ran out of connections", "Infrastructure", "Alert at 80% of connections"),
    ("A new feature runs slow queries on the master", "Code", "Move the feature to a replica"),
    ("Their cache time is zero", "Code", "Cache the recently-viewed query"),
    ("The example query it copied was uncached", "Code", "Fix the example in the cookbook"),
    ("Onboarding does not cover caching", "Knowledge", "Add caching to onboarding"),
]
BRANCH = ("Connection pools add up past the limit", "Tooling", "Budget connections in CI")


def answer_level(page, counter: Interactions, answer: str, category: str, action: str, button):
    counter.type(page.locator("#id_answer"), answer)
    counter.choose(page.get_by_label(category, exact=True))
    counter.type(page.get_by_role("textbox", name=re.compile("^Corrective action")), action)
    counter.click(page.get_by_role("button", name=button))


def test_a_team_runs_five_levels_with_a_branch_and_closes_the_chain(signed_in, live_server, shot):
    page = signed_in
    page.set_default_timeout(8000)
    me = get_user_model().objects.get(username="oncall")
    incident = IncidentFactory(
        title="Logins failing",
        severity="sev2",
        impact="Logins failed for 35% of users",
        services=[ServiceFactory(team=TeamFactory(manager=me, members=[me]))],
        commander=me,
    )
    counter = Interactions()

    # From home, as a person gets there: the open incident, then its why session.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name=re.compile("Logins failing")).first.click()
    page.get_by_role("link", name="Run the five whys").click()
    expect(page.locator("#why-question")).to_have_text(
        "Why did “Logins failed for 35% of users” happen?"
    )
    expect(page.locator("#id_answer")).to_be_focused()

    for level, (answer, category, action) in enumerate(CHAIN, start=1):
        expect(page.locator(".why-kicker")).to_contain_text(f"Level {level} of 5")
        counter.start(f"level {level}")
        if level == 2:
            # Two causes at level 2: this one, then "Another cause" opens its sibling.
            answer_level(page, counter, answer, category, action, re.compile("^Another cause"))
            expect(page.locator(".why-kicker")).to_contain_text("Level 2 of 5 · new cause")
            counter.start("branch level 2")
            answer_level(page, counter, *BRANCH, re.compile("^Save"))
            expect(page.locator(".why-tree-node.is-focus")).to_contain_text(BRANCH[0])
            # The branch ends here, on the record (not a level: its own small step).
            counter.start("branch stop")
            counter.click(page.locator("summary", has_text="Stop here…"))
            counter.type(
                page.get_by_label("Why does this branch end here?"),
                "Same root as the main chain; tracked there",
            )
            counter.click(page.get_by_role("button", name="Stop this branch"))
            expect(page.locator(".why-tree-root")).to_contain_text("Stopped")
            # The session resumes one level below the unfinished cause: no navigation needed.
            expect(page.locator(".why-kicker")).to_contain_text("Level 3 of 5")
            expect(page.locator("#why-question")).to_contain_text("new feature runs slow queries")
            continue
        if level == 3:
            shot("journey-whys-level-3")
        button = re.compile("^Why\\?") if level < 5 else re.compile("^Save")
        answer_level(page, counter, answer, category, action, button)

    expect(page.locator(".why-gate")).to_contain_text("Ready to close")
    shot("journey-whys-complete")

    levels = {step: n for step, n in counter.counts.items() if "level" in step}
    assert not counter.over_budget(BUDGET), f"over {BUDGET} interactions per level: {levels}"
    assert counter.counts["branch stop"] <= 3

    nodes = WhyNode.objects.filter(incident=incident)
    assert nodes.count() == 6 and nodes.filter(level=5).count() == 1
    actions = ActionItem.objects.filter(incident=incident)
    assert actions.count() == 6
    due = timezone.localdate() + timedelta(days=21)  # the SEV2 default for a prevent action
    assert {(a.owner, a.due_on, a.estimated_hours) for a in actions} == {(me, due, Decimal("8"))}

    # Close the chain: the gate sends the team to the incident, which closes as resolved.
    page.get_by_role("link", name=re.compile("Go to the incident to close it")).click()
    page.locator("summary", has_text="Close…").click()
    page.locator("input[name=reason][value=resolved]").check()
    page.get_by_role("button", name="Close incident").click()
    expect(page.locator(".messages")).to_contain_text("closed")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLOSED
    assert incident.close_reason == "resolved"
