"""On-call files an incident in the browser, finds it on the list and adds a note."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import ServiceFactory

pytestmark = pytest.mark.browser


def test_file_an_incident_see_it_listed_and_add_a_note(signed_in, live_server, shot):
    ServiceFactory(slug="checkout", name="Checkout")
    page = signed_in
    page.get_by_role("link", name="File an incident").first.click()
    page.get_by_label("Title").fill("Checkout returns 500 for card payments")
    page.get_by_label(re.compile(r"sev1\s+Critical", re.I)).check()
    services = page.get_by_role("combobox", name="Services")
    services.fill("check")
    services.press("Enter")
    shot("incident-new")
    page.get_by_role("button", name="File incident").click()

    expect(page.get_by_role("heading", name=re.compile("Checkout returns 500"))).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Incident filed by oncall as SEV1")

    page.get_by_label("Add to the timeline").fill(
        "Rolled back **checkout v3.2**; error rate falling."
    )
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#timeline strong", has_text="checkout v3.2")).to_be_visible()
    shot("incident-detail")

    page.get_by_role("link", name="Incidents", exact=True).click()
    row = page.get_by_role("row", name=re.compile("Checkout returns 500"))
    expect(row).to_contain_text("sev1")
    expect(row).to_contain_text("Investigating")
    shot("incident-list")
