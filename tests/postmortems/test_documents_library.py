"""The library: full-text search (PostgreSQL ranked, SQLite fallback), filters, visibility, counts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from postmortems.selectors import documents as sel
from tests.factories import (
    IncidentFactory,
    ServiceFactory,
    UserFactory,
    WhyNodeFactory,
    publish_postmortem,
)

pytestmark = pytest.mark.django_db

LIBRARY = "/postmortems/"


def _corpus(user):
    """Three public postmortems; the pool one is about connection pools in title AND body."""
    pool = IncidentFactory(title="Connection pool exhausted on checkout", commander=user)
    publish_postmortem(
        pool,
        by=user,
        sections={
            "summary": "The connection pool was exhausted; every connection was held by slow queries.",
            "lessons": "Give every service a connection pool budget.",
        },
    )
    mention = IncidentFactory(title="Search index rebuild", commander=user)
    publish_postmortem(
        mention,
        by=user,
        sections={"went_poorly": "A retry storm briefly touched the connection pool as well."},
    )
    other = IncidentFactory(title="Certificate expired on edge", commander=user)
    publish_postmortem(other, by=user, sections={"summary": "A TLS certificate expired."})
    return pool, mention, other


@pytest.mark.postgres
def test_search_ranks_the_best_match_first_with_highlights(user):
    pool, mention, _ = _corpus(user)
    results = sel.library_results(
        sel.library_queryset(user, q="connection pool"), "connection pool"
    )
    assert [r.incident.pk for r in results] == [pool.pk, mention.pk]
    assert "<mark>" in results[0].snippet
    assert results[0].version.rank > results[1].version.rank


@pytest.mark.postgres
def test_search_vectors_use_english_stemming(user):
    pool, *_ = _corpus(user)
    results = sel.library_results(sel.library_queryset(user, q="exhausting pools"), "x")
    assert [r.incident.pk for r in results] == [pool.pk]


def test_search_falls_back_to_a_plain_match_with_a_marked_snippet(user):
    pool, mention, other = _corpus(user)
    found = {v.postmortem.incident_id for v in sel.library_queryset(user, q="pool")}
    assert found == {pool.pk, mention.pk}
    assert other.pk not in found
    results = sel.library_results(sel.library_queryset(user, q="certificate"), "certificate")
    assert "<mark>" in results[0].snippet.lower()


def test_snippets_escape_document_text(user):
    incident = IncidentFactory(title="Angle", commander=user)
    publish_postmortem(
        incident, by=user, sections={"summary": "Angle brackets: <script>alert(1)</script> tag"}
    )
    results = sel.library_results(sel.library_queryset(user, q="brackets"), "brackets")
    snippet = results[0].snippet
    assert "<script" not in snippet
    assert set(re.findall(r"<(/?[a-z]+)", snippet)) == {"mark", "/mark"}


def test_a_restricted_postmortem_never_appears_for_a_non_responder(client_for, user, other_user):
    secret = IncidentFactory(
        title="Tenant leak zebra", restricted=True, commander=user, responders=[]
    )
    publish_postmortem(secret, by=user, sections={"summary": "zebra export listing"})
    public = IncidentFactory(title="Public zebra crossing", commander=user)
    publish_postmortem(public, by=user, sections={"summary": "zebra crossing"})

    client = client_for(other_user)
    for url in (LIBRARY, LIBRARY + "?q=zebra", LIBRARY + "?q=tenant", LIBRARY + "?severity=sev2"):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Tenant leak zebra" not in body
        assert "export listing" not in body
    response = client.get(LIBRARY + "?q=zebra")
    assert response.context["page_obj"].paginator.count == 1
    assert response.context["severity_counts"] == {"sev2": 1}
    assert "1 postmortem matching" in response.content.decode()
    assert client.get(LIBRARY + "?q=tenant").context["page_obj"].paginator.count == 0


def test_the_incidents_people_find_their_restricted_postmortem(client_for, user):
    secret = IncidentFactory(title="Tenant leak zebra", restricted=True, commander=user)
    publish_postmortem(secret, by=user)
    response = client_for(user).get(LIBRARY + "?q=zebra")
    assert response.context["page_obj"].paginator.count == 1
    assert "Tenant leak zebra" in response.content.decode()


def test_filters_by_service_team_severity_category_and_year(user):
    svc_a, svc_b = ServiceFactory(), ServiceFactory()
    a = IncidentFactory(services=[svc_a], severity="sev1", commander=user)
    WhyNodeFactory(incident=a, category="infrastructure")
    b = IncidentFactory(services=[svc_b], severity="sev3", commander=user)
    WhyNodeFactory(incident=b, category="process")
    publish_postmortem(a, by=user)
    publish_postmortem(b, by=user)

    def ids(**filters):
        return {v.postmortem.incident_id for v in sel.library_queryset(user, **filters)}

    assert ids(service=svc_a.slug) == {a.pk}
    assert ids(team=svc_b.team.slug) == {b.pk}
    assert ids(severity="sev3") == {b.pk}
    assert ids(category="infrastructure") == {a.pk}
    assert ids(year=a.started_at.year) == {a.pk, b.pk}
    assert ids(year=1999) == set()


def test_drafts_and_unpublished_postmortems_are_not_in_the_library(user):
    from postmortems.services import documents as svc

    svc.generate_draft(incident=IncidentFactory(commander=user), by=user)
    assert list(sel.library_queryset(user)) == []


def test_the_library_shows_only_the_latest_version(user):
    from postmortems.services import documents as svc

    incident = IncidentFactory(commander=user, severity="sev4")
    v1 = publish_postmortem(incident, by=user)
    pm = v1.postmortem
    pm = svc.edit_section(postmortem=pm, key="lessons", text="More", by=user)
    pm = svc.submit_for_review(postmortem=pm, by=user)
    v2 = svc.publish(postmortem=pm, by=user)
    assert [v.pk for v in sel.library_queryset(user)] == [v2.pk]


def _published(n, user):
    for _ in range(n):
        incident = IncidentFactory(commander=user, severity="sev4", services=[ServiceFactory()])
        WhyNodeFactory(incident=incident, category="code")
        publish_postmortem(incident, by=user)


def _library_queries(client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(LIBRARY + "?q=Something").status_code == 200
    return len(ctx.captured_queries)


def test_the_library_page_makes_the_same_number_of_queries_for_1_or_30(
    client_for, user, django_assert_max_num_queries
):
    client = client_for(user)
    _published(1, user)
    one = _library_queries(client, django_assert_max_num_queries)
    _published(29, user)
    thirty = _library_queries(client, django_assert_max_num_queries)
    assert one == thirty
    print(f"library queries: 1 → {one}, 30 → {thirty}")
    assert thirty <= 14


def test_published_postmortem_urls_lists_only_published_ones(user):
    from postmortems.services import documents as svc

    published = IncidentFactory(commander=user)
    publish_postmortem(published, by=user)
    draft = IncidentFactory(commander=user)
    svc.generate_draft(incident=draft, by=user)
    urls = sel.published_postmortem_urls([published.pk, draft.pk])
    assert urls == {published.pk: reverse("postmortems:postmortem-detail", args=[published.pk])}


def test_the_home_page_panel_lists_latest_published_visible_ones(client_for, user, other_user):
    publish_postmortem(IncidentFactory(title="Visible one", commander=user), by=user)
    publish_postmortem(
        IncidentFactory(title="Hidden one", restricted=True, commander=user), by=user
    )
    body = client_for(other_user).get("/").content.decode()
    assert "Latest published postmortems" in body
    assert "Visible one" in body
    assert "Hidden one" not in body


def test_same_incident_again_lists_earlier_postmortems_with_a_shared_cause(user):
    from datetime import timedelta

    service = ServiceFactory()
    now = IncidentFactory(services=[service], commander=user)
    WhyNodeFactory(incident=now, category="infrastructure")
    earlier = IncidentFactory(
        services=[service], commander=user, started_at=now.started_at - timedelta(days=40)
    )
    WhyNodeFactory(incident=earlier, category="infrastructure")
    unrelated = IncidentFactory(
        services=[service], commander=user, started_at=now.started_at - timedelta(days=20)
    )
    WhyNodeFactory(incident=unrelated, category="knowledge")
    hidden = IncidentFactory(
        services=[service],
        restricted=True,
        commander=UserFactory(),
        started_at=now.started_at - timedelta(days=10),
    )
    WhyNodeFactory(incident=hidden, category="infrastructure")
    for i in (earlier, unrelated, hidden):
        publish_postmortem(i, by=i.commander)
    v = publish_postmortem(now, by=user)
    again = sel.same_incident_again(v.postmortem, user)
    assert [a["incident"].pk for a in again] == [earlier.pk]
    assert again[0]["categories"] == ["Infrastructure"]


@pytest.mark.parametrize(
    "query", ["?q=%22%26%26%21(", "?q=' OR 1=1 --", "?year=abc&q=x", "?page=zz", "?severity=sev9"]
)
def test_odd_library_input_never_fails(client_for, user, query):
    publish_postmortem(IncidentFactory(commander=user), by=user)
    assert client_for(user).get(LIBRARY + query).status_code == 200
