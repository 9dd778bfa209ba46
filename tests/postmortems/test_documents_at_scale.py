"""Library, feed and home at a company's size (issue 15): capped exact counts, the facet only over
few results, the year filter's bounds, feed entries carrying summaries."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from postmortems.models import FeedToken, Incident
from postmortems.selectors import documents as sel
from postmortems.views import documents as views
from postmortems.views.pagination import CappedPaginator
from tests.factories import IncidentFactory, UserFactory, publish_postmortem

pytestmark = pytest.mark.django_db

LIBRARY = "/postmortems/"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_capped_paginator_counts_exactly_up_to_its_cap_and_past_the_asked_page(user):
    for _ in range(7):
        IncidentFactory(commander=user)
    qs = Incident.objects.order_by("pk")

    exact = CappedPaginator(qs, 2, cap=10)
    page = exact.get_page(1)
    assert (exact.count, exact.capped, exact.count_label) == (7, False, "7")
    assert exact.num_pages == 4 and len(page.object_list) == 2

    capped = CappedPaginator(qs, 2, cap=3)
    page = capped.get_page(1)
    assert (capped.capped, capped.count_label) == (True, "3+")
    assert page.has_next()
    # Asking for a page past the cap counts up to it, so "Next" keeps going to the end.
    further = CappedPaginator(qs, 2, cap=3)
    page = further.get_page(4)
    assert page.number == 4 and len(page.object_list) == 1
    assert further.count == 7 and not further.capped and not page.has_next()


def test_the_library_says_n_plus_past_the_cap_and_skips_the_severity_facet(
    client_for, user, monkeypatch
):
    for title in ("Alpha outage", "Beta outage", "Gamma outage"):
        publish_postmortem(IncidentFactory(title=title, commander=user, severity="sev3"), by=user)
    client = client_for(user)
    monkeypatch.setattr(views, "LIBRARY_COUNT_CAP", 2)
    monkeypatch.setattr(views, "LIBRARY_PAGE_SIZE", 2)

    response = client.get(LIBRARY)
    body = response.content.decode()
    assert response.context["page_obj"].paginator.capped
    assert "2+ postmortems" in body
    assert response.context["severity_counts"] is None
    assert body.count("pm-result-title") == 2
    assert "Next" in body

    last = client.get(LIBRARY + "?page=2")  # counted up to the page asked for: exact again
    assert last.context["page_obj"].paginator.count == 3
    assert last.content.decode().count("pm-result-title") == 1
    assert last.context["severity_counts"] == {"sev3": 3}

    narrowed = client.get(LIBRARY + "?q=Alpha")
    assert narrowed.context["page_obj"].paginator.count == 1
    assert narrowed.context["severity_counts"] == {"sev3": 1}


def test_the_year_filter_spans_the_readers_published_postmortems(client_for, user, other_user):
    old = IncidentFactory(commander=user)
    Incident.objects.filter(pk=old.pk).update(started_at=old.started_at - timedelta(days=3 * 366))
    publish_postmortem(old, by=user)
    publish_postmortem(IncidentFactory(commander=user), by=user)
    hidden = IncidentFactory(restricted=True, commander=UserFactory(), responders=[])
    Incident.objects.filter(pk=hidden.pk).update(
        started_at=hidden.started_at - timedelta(days=8 * 366)
    )
    publish_postmortem(hidden, by=hidden.commander)

    years = sel.library_years(user)
    assert years == sorted(years, reverse=True)
    assert len(years) in (4, 5)  # 3x366 days back: 3 or 4 new years in between
    assert years[-1] == Incident.objects.get(pk=old.pk).started_at.year  # not the hidden one
    assert sel.library_years(UserFactory(is_active=False)) == []
    assert client_for(other_user).get(LIBRARY + f"?year={years[-1]}").status_code == 200


def test_feed_entries_carry_the_summary_and_a_link_not_the_whole_document(client, user):
    incident = IncidentFactory(commander=user, title="Cache stampede")
    publish_postmortem(
        incident,
        by=user,
        sections={
            "summary": "The cache **expired** at once.",
            "lessons": "Jitter every TTL.",
            "went_poorly": "QXWHOLEDOC nobody paged the owner.",
        },
    )
    token = FeedToken.objects.create(user=user)
    response = client.get(f"/feeds/{token.token}/postmortems.atom")
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # noqa: S314 (our own response) well-formed Atom
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    summary = entries[0].find(f"{ATOM}summary").text
    assert "<strong>expired</strong>" in summary and "Jitter every TTL." in summary
    assert "QXWHOLEDOC" not in response.content.decode()
    link = entries[0].find(f"{ATOM}link").get("href")
    assert link.endswith(f"/postmortems/{incident.pk}/") and link in summary


def test_the_feed_holds_the_newest_ones_only(user):
    for _ in range(3):
        publish_postmortem(IncidentFactory(commander=user), by=user)
    newest = sel.feed_versions(user, limit=2)
    assert len(newest) == 2
    assert newest[0].published_at >= newest[1].published_at
