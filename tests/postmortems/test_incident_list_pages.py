"""The incident list's pages (issue 15): page numbers for the first pages, "Next"/"Newer" by
(sort value, id) beyond, a count capped at 1,000."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from postmortems.selectors import incidents as sel
from postmortems.selectors.incidents import incident_list, incident_page
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sixty(db):
    now = timezone.now()
    # pairs share a start time: the id breaks the tie
    return [
        IncidentFactory(title=f"Incident {i}", started_at=now - timedelta(hours=i // 2))
        for i in range(60)
    ]


def _link(html: str, label: str) -> str | None:
    m = re.search(r'href="([^"]+)">' + re.escape(label), html)
    return unescape(m.group(1)) if m else None


def _walk(client, url: str, label: str) -> list[list[int]]:
    pages = []
    while url:
        response = client.get("/incidents/" + url if url.startswith("?") else url)
        assert response.status_code == 200
        pages.append([i.pk for i in response.context["incidents"]])
        url = _link(response.content.decode(), label)
    return pages


@pytest.mark.parametrize("sort", ["-started", "started"])
def test_next_walks_every_incident_once_in_order_and_newer_walks_back(
    client_for, user, sixty, sort
):
    client = client_for(user)
    expected = [i.pk for i in incident_list(user, sort=sort)]
    forward = _walk(client, f"/incidents/?sort={sort}", "Next →")
    assert [pk for page in forward for pk in page] == expected
    assert [len(p) for p in forward] == [25, 25, 10]
    # from the oldest page back to the newest with "Newer"
    backward = _walk(client, f"/incidents/?sort={sort}&last=1", "← Newer")
    assert [pk for page in reversed(backward) for pk in page] == expected


@pytest.mark.parametrize("sort", ["severity", "-severity"])
def test_the_keyset_follows_any_sort_of_the_selector(user, sixty, sort):
    for i, incident in enumerate(sixty):
        incident.severity = f"sev{i % 4 + 1}"
        incident.save()
    expected = [i.pk for i in incident_list(user, sort=sort)]
    seen, page = [], incident_page(incident_list(user, sort=sort), sort=sort)
    while True:
        seen += [i.pk for i in page.incidents]
        if not page.older:
            break
        page = incident_page(incident_list(user, sort=sort), sort=sort, after=page.older)
    assert seen == expected


def test_old_page_number_links_still_work(client_for, user, sixty):
    client = client_for(user)
    expected = [i.pk for i in incident_list(user)]
    assert [i.pk for i in client.get("/incidents/?page=2").context["incidents"]] == expected[25:50]
    html = client.get("/incidents/?page=2").content.decode()
    assert "Page 2" in html and "60 incidents" in html
    assert _link(html, "← Newer") == "?page=1"
    # past the end: the last page, as before; malformed: the first
    assert [i.pk for i in client.get("/incidents/?page=99").context["incidents"]] == expected[35:]
    assert [i.pk for i in client.get("/incidents/?page=x").context["incidents"]] == expected[:25]


def test_deep_page_numbers_are_served_and_link_on_by_keyset(user, sixty, monkeypatch):
    monkeypatch.setattr(sel, "PAGE_NUMBERS_UP_TO", 1)
    page = incident_page(incident_list(user), page="2")
    expected = [i.pk for i in incident_list(user)]
    assert [i.pk for i in page.incidents] == expected[25:50]
    assert page.newer and page.older and page.newer_page is None
    newer = incident_page(incident_list(user), before=page.newer)
    assert [i.pk for i in newer.incidents] == expected[:25]


def test_a_malformed_cursor_shows_the_first_page(client_for, user, sixty):
    client = client_for(user)
    first = [i.pk for i in client.get("/incidents/").context["incidents"]]
    for bad in ("x", "~", "2026-13-01~1", "2026-01-01T00:00:00~1", "~12", "now~abc"):
        response = client.get("/incidents/", {"after": bad})
        assert response.status_code == 200
        assert [i.pk for i in response.context["incidents"]] == first


def test_the_count_is_exact_up_to_the_cap(user, sixty, monkeypatch, client_for):
    monkeypatch.setattr(sel, "COUNT_CAP", 50)
    page = incident_page(incident_list(user))
    assert (page.count, page.count_capped) == (50, True)
    assert "50+ incidents" in client_for(user).get("/incidents/").content.decode()
    monkeypatch.setattr(sel, "COUNT_CAP", 60)
    page = incident_page(incident_list(user))
    assert (page.count, page.count_capped) == (60, False)


def test_restricted_incidents_are_neither_listed_nor_counted(client_for, user, sixty):
    IncidentFactory(restricted=True, title="Secret thing")
    response = client_for(user).get("/incidents/?last=1")
    assert "Secret thing" not in response.content.decode()
    assert response.context["page"].count == 60
