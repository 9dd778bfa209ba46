"""The main pages at a phone's size (390x844: nothing wider than the screen) and under axe-core
(no serious or critical violation). axe-core is vendored (tests/e2e/vendor/axe.min.js, from the npm
registry) and injected by Playwright: never fetched at run time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from postmortems.models import WeeklyReview
from tests.world import build_world

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
PHONE = {"width": 390, "height": 844}
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/screenshots"))  # as conftest.py


@pytest.fixture
def world(transactional_db):
    return build_world(incidents=6, actions=12)


def main_pages(world) -> dict[str, str]:
    review = WeeklyReview.objects.order_by("-week_start").first()
    return {
        "home": "/",
        "incidents": "/incidents/",
        "incident": world.login_outage.get_absolute_url(),
        "whys": f"/incidents/{world.login_outage.pk}/whys/",
        "actions": "/actions/?scope=teams",
        "postmortems": "/postmortems/",
        "postmortem": world.version.postmortem.get_absolute_url(),
        "reviews": "/reviews/",
        "review": review.get_absolute_url(),
        "retro": world.retro.get_absolute_url(),
        "deploys": "/deploys/",
        "deploy": world.culprit.get_absolute_url(),
        "alerts": "/alerts/",
        "services": "/services/",
        "subscribe": "/subscribe/",
    }


def serious_violations(page) -> list[str]:
    # evaluate() runs outside the page's Content Security Policy (which forbids inline scripts).
    page.evaluate(AXE)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
              .filter(v => v.impact === "serious" || v.impact === "critical")
              .map(v => v.id + " (" + v.impact + "): " +
                   v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
        }"""
    )
    return list(found)


def test_no_main_page_is_wider_than_a_phone(world, browser, live_server):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(world.manager.username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    too_wide = []
    for name, path in main_pages(world).items():
        page.goto(live_server.url + path)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            too_wide.append(f"{name} ({path}): {scroll}px wide on a {inner}px screen")
    assert not too_wide, "\n".join(too_wide)

    # The action list is a stack of cards on a phone, and its due / overdue stays visible.
    page.goto(f"{live_server.url}/actions/?scope=teams")
    overdue = page.locator("table.table tbody .overdue").first
    expect(overdue).to_be_visible()
    expect(overdue).to_contain_text("overdue")
    expect(page.locator("table.table thead")).not_to_be_in_viewport()
    page.screenshot(path=str(SCREENSHOT_DIR / "nav-phone-actions.png"))
    page.goto(live_server.url + world.login_outage.get_absolute_url())
    page.screenshot(path=str(SCREENSHOT_DIR / "nav-phone-incident.png"))
    context.close()


def test_axe_finds_no_serious_or_critical_violation_on_the_main_pages(world, login, live_server):
    page = login(world.manager)
    problems = {}
    for name, path in main_pages(world).items():
        page.goto(live_server.url + path)
        found = serious_violations(page)
        if found:
            problems[f"{name} {path}"] = found
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())
