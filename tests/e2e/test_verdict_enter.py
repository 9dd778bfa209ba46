"""Bug 2 as it was seen: Enter in a ruled-out deploy's "Why?" note made it a second culprit."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from postmortems.models import SuspectVerdict
from tests.world import build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    return build_world(incidents=1, actions=1)


def test_enter_in_a_note_keeps_the_verdict_and_a_second_culprit_is_confirmed(world, login, shot):
    other = SuspectVerdict.objects.exclude(deploy=world.culprit).filter(incident=world.login_outage)
    assert not other.exists()
    page = login(world.responder)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    page.get_by_role("link", name=world.login_outage.title).click()
    suspect = page.locator("li.suspect").nth(1)
    suspect.get_by_role("button", name="Ruled out").click()
    expect(page.locator("li.suspect").nth(1).locator(".verdict-badge")).to_have_text("Ruled out")
    deploy_id = int(page.locator("li.suspect").nth(1).get_attribute("id").split("-")[1])

    note = page.locator("li.suspect").nth(1).get_by_label("Why (optional)")
    note.fill("Config-only change")
    note.press("Enter")
    expect(page.locator("li.suspect").nth(1).locator(".verdict-by")).to_contain_text(
        "Config-only change"
    )
    verdict = SuspectVerdict.objects.get(incident=world.login_outage, deploy_id=deploy_id)
    assert (verdict.verdict, verdict.note) == ("ruled_out", "Config-only change")

    # A second culprit is asked about first.
    page.locator("li.suspect").nth(1).get_by_role("button", name="Culprit").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Mark a second culprit?")
    assert SuspectVerdict.objects.get(deploy_id=deploy_id).verdict == "ruled_out"
    shot("verdict-second-culprit")
    page.get_by_role("button", name="Yes, a second culprit").click()
    expect(page.locator(f"#suspect-{deploy_id} .verdict-badge")).to_have_text("Culprit")
