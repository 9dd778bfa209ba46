"""A manager switches tabs, pages, sorts, reassigns and exports exactly the rows on screen, by
clicking what a person clicks (the only page.goto is the sign-in)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from postmortems.models import ActionItem
from tests.world import build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    return build_world()


def _titles_on_screen(page) -> list[str]:
    return page.locator("table.table tbody td.title-cell > a").all_inner_texts()


def test_a_manager_switches_tabs_pages_sorts_reassigns_and_exports(world, login, shot):
    page = login(world.manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Actions").click()
    expect(page.get_by_role("heading", name="Action items", exact=True)).to_be_visible()
    mine = _titles_on_screen(page)
    assert mine and all(
        ActionItem.objects.get(title=t).owner_id == world.manager.pk for t in mine
    ), "the Mine tab lists the manager's own items"

    # Tabs: "My teams" shows the whole team's items (the ?? bug left every tab on "Mine").
    page.get_by_role("navigation", name="Whose items").get_by_role("link", name="My teams").click()
    expect(page).to_have_url(re.compile(r"[?&]scope=teams"))
    expect(
        page.get_by_role("navigation", name="Whose items").get_by_role("link", name="My teams")
    ).to_have_attribute("aria-current", "page")
    first_page = _titles_on_screen(page)
    assert len(first_page) == 50
    shot("manager-actions-teams")

    # Pages: Next shows other rows, and keeps the tab.
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page).to_have_url(re.compile(r"scope=teams"))
    second_page = _titles_on_screen(page)
    assert second_page and not set(second_page) & set(first_page)
    page.get_by_role("link", name="← Previous").click()

    # Sort by owner: the column header link re-orders the rows, the tab stays.
    page.locator("thead").get_by_role("link", name="Owner").click()
    expect(page).to_have_url(re.compile(r"sort=owner"))
    expect(page).to_have_url(re.compile(r"scope=teams"))
    owners = page.locator("table.table tbody td[data-label=Owner]").all_inner_texts()
    assert owners == sorted(owners, key=str.casefold)

    # Reassign: tick two of Ravi's items, hand them to Carl.
    page.get_by_label("Owner:", exact=True).select_option(label="Ravi Responder (ravi)")
    page.get_by_role("button", name="Filter").click()
    ravis = _titles_on_screen(page)
    assert len(ravis) >= 2
    for title in ravis[:2]:
        page.get_by_label(f"Select {title}").check()
    page.get_by_label("reassign to").select_option(label="Carl Colleague (carl)")
    page.get_by_role("button", name="Reassign selected").click()
    expect(page.locator(".messages")).to_contain_text("Reassigned 2 items to Carl Colleague")
    for title in ravis[:2]:
        assert ActionItem.objects.get(title=title).owner_id == world.colleague.pk
    shot("manager-reassigned")

    # Export: the CSV holds exactly the rows on screen (this tab, this owner filter).
    on_screen = _titles_on_screen(page)
    assert on_screen and len(on_screen) < 50
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    path = download_info.value.path()
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert sorted(r["title"] for r in rows) == sorted(on_screen)
