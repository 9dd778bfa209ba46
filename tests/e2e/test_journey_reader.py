"""An employee searches, reads and subscribes, clicking what a person clicks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.world import build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db, live_server, settings):
    settings.SITE_URL = live_server.url  # links that leave the app point back at this server
    return build_world(incidents=4, actions=6)


def test_an_employee_searches_reads_and_subscribes(world, login, shot):
    page = login(world.employee)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Postmortems").click()
    expect(page.get_by_role("heading", name="Postmortems", exact=True)).to_be_visible()

    # Search
    page.get_by_role("searchbox", name="Search").fill("connections")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".pm-counts")).to_contain_text("matching “connections”")
    result = page.get_by_role("link", name=world.version.title)
    expect(result).to_be_visible()
    shot("reader-search")

    # Read, and follow a link written inside the document
    result.click()
    expect(page.get_by_role("heading", name=world.version.title).first).to_be_visible()
    shot("reader-postmortem")
    page.get_by_role("link", name="the service page").click()
    expect(page).to_have_url(re.compile(r"/services/accounts/$"))
    page.go_back()

    # Subscribe: a page that explains the feed and gives the address to copy (not raw XML)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Postmortems").click()
    page.get_by_role("link", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Subscribe", exact=True)).to_be_visible()
    address = page.get_by_label("Address to copy").first
    url = address.input_value()
    assert re.fullmatch(re.escape(world_url(page)) + r"/feeds/[\w-]+/postmortems\.atom", url)
    shot("reader-subscribe")

    # The address works in a feed reader: Atom, with the published postmortem, links absolute.
    feed = page.request.get(url)
    assert feed.ok and "atom" in feed.headers["content-type"]
    body = feed.text()
    assert world.version.title in body
    assert f'href="{world_url(page)}/postmortems/' in body


def world_url(page) -> str:
    return re.match(r"https?://[^/]+", page.url).group(0)
