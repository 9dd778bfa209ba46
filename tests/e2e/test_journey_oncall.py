"""On-call, in the browser, from the home page: files an incident, finds the suspect deploys
ranked, judges one (a note typed and Enter keeps the verdict chosen), adds a note, mitigates and
resolves. And a fresh install, with no demo data at all, files its first incident."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics_link.models import Service
from postmortems.models import Incident, SuspectVerdict, TimelineEntry
from tests.factories import CommitFactory, DeployFactory, ServiceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.browser


def test_on_call_files_judges_suspects_notes_mitigates_and_resolves(signed_in, live_server, shot):
    page = signed_in
    page.set_default_timeout(8000)
    team = TeamFactory(name="Payments")
    checkout = ServiceFactory(slug="checkout", name="Checkout", team=team)
    ServiceFactory(slug="search", name="Search", team=team)
    UserFactory(username="ned", first_name="Ned", last_name="Okafor")
    now = timezone.now()
    culprit = DeployFactory(
        service=checkout, version="v3.2.0", finished_at=now - timedelta(minutes=20)
    )
    CommitFactory(repository="acme/checkout", message="Switch card tokens to the new vault")
    older = DeployFactory(service=checkout, version="v3.1.9", finished_at=now - timedelta(hours=9))

    # Home → the filing form, as a person would get there.
    expect(page).to_have_url(f"{live_server.url}/")
    page.get_by_role("link", name="File an incident").first.click()
    page.get_by_label("Title").fill("Card payments fail at checkout")
    page.get_by_label(re.compile(r"sev2\s", re.I)).check()
    services = page.get_by_role("combobox", name="Services")
    services.fill("check")
    expect(page.get_by_role("option", name="Checkout")).to_be_visible()
    shot("journey-oncall-picker-open")
    services.press("Enter")
    expect(page.locator(".picker-chip", has_text="Checkout")).to_be_visible()
    # A service the catalog does not know yet: typed, offered as new, added with Enter.
    services.fill("Card vault")
    expect(page.get_by_role("option", name="Add new service “Card vault”")).to_be_visible()
    services.press("Enter")
    expect(page.locator(".picker-chip", has_text="Card vault (new)")).to_be_visible()
    page.locator("summary", has_text="More details").click()
    responders = page.get_by_role("combobox", name="Responders")
    responders.fill("oka")
    responders.press("Enter")
    expect(page.locator(".picker-chip", has_text="Ned Okafor")).to_be_visible()
    responders.press("Escape")
    shot("journey-oncall-filing")
    page.get_by_role("button", name="File incident").click()

    expect(page.get_by_role("heading", name=re.compile("Card payments fail"))).to_be_visible()
    incident = Incident.objects.get(title="Card payments fail at checkout")
    assert sorted(incident.services.values_list("slug", flat=True)) == ["card-vault", "checkout"]
    assert Service.objects.get(slug="card-vault").claimed is False
    assert list(incident.responders.values_list("username", flat=True)) == ["ned"]

    # The suspects, most likely first: the deploy 20 minutes before the start.
    suspects = page.locator("#suspects")
    expect(suspects.locator(".suspect").first).to_contain_text("v3.2.0")
    expect(suspects.locator(".suspect").nth(1)).to_contain_text("v3.1.9")

    # Judge the older deploy: ruled out, then a note typed and Enter.
    older_item = page.locator(f"#suspect-{older.pk}")
    older_item.get_by_role("button", name="Ruled out").click()
    expect(page.locator(f"#suspect-{older.pk} .verdict-badge")).to_have_text("Ruled out")
    note = page.locator(f"#note-{older.pk}")
    note.fill("Nine hours before; errors began at 14:02")
    note.press("Enter")
    expect(page.locator(f"#suspect-{older.pk} .verdict-by")).to_contain_text("errors began")
    verdict_after_enter = SuspectVerdict.objects.get(incident=incident, deploy=older).verdict

    # The culprit, by its button.
    page.locator(f"#suspect-{culprit.pk}").get_by_role("button", name="Culprit").click()
    expect(page.locator(f"#suspect-{culprit.pk} .verdict-badge")).to_have_text("Culprit")
    shot("journey-oncall-suspects")

    page.get_by_label("Add to the timeline").fill(
        "Rolled back **checkout v3.2.0**; errors falling."
    )
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#timeline")).to_contain_text(
        "Rolled back checkout v3.2.0; errors falling."
    )

    page.get_by_role("button", name="Mitigated", exact=True).click()
    expect(page.locator(".badge", has_text="Mitigated").first).to_be_visible()
    page.get_by_role("button", name="Resolved", exact=True).click()
    expect(page.locator(".badge", has_text="Resolved").first).to_be_visible()
    shot("journey-oncall-resolved")

    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.mitigated_at and incident.resolved_at
    assert TimelineEntry.objects.filter(incident=incident, body__contains="Rolled back").exists()
    assert SuspectVerdict.objects.get(incident=incident, deploy=culprit).verdict == "culprit"
    # Issue 16 bug 2: Enter in the note keeps the chosen verdict.
    assert verdict_after_enter == "ruled_out"


def test_a_fresh_install_files_its_first_incident_typing_a_new_service(
    transactional_db, login, live_server, shot
):
    assert not Service.objects.exists() and not Incident.objects.exists()
    page = login(UserFactory(username="first", first_name="Fay", last_name="First"))
    page.set_default_timeout(8000)
    page.get_by_role("link", name="File an incident").first.click()
    page.get_by_label("Title").fill("Sign-up page returns 502")
    page.get_by_label(re.compile(r"sev3\s", re.I)).check()
    page.get_by_label("Service", exact=True).fill("Sign-up web")
    shot("journey-fresh-install-filing")
    page.get_by_role("button", name="File incident").click()

    expect(page.get_by_role("heading", name=re.compile("Sign-up page returns 502"))).to_be_visible()
    expect(page.locator(".meta")).to_contain_text("sign-up-web")
    service = Service.objects.get()
    assert (service.slug, service.name, service.claimed, service.team) == (
        "sign-up-web",
        "Sign-up web",
        False,
        None,
    )
    assert Incident.objects.get().services.get() == service
