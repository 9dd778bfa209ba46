"""`GET /api/deploys/` never counts a million deploys (issue 15): the page-number count is exact up
to a cap, says when it stopped there, and page numbers end at the cap (the cursor goes deeper)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics_link.api import pagination
from tests.factories import DeployFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client_for):
    return api_client_for(UserFactory())


@pytest.fixture
def cap(monkeypatch):
    monkeypatch.setattr(pagination.CappedCountPaginator, "cap", 60)
    return 60


def test_below_the_cap_the_count_is_exact_and_nothing_says_capped(api, cap):
    DeployFactory.create_batch(7)
    body = api.get("/api/deploys/").json()
    assert body["count"] == 7
    assert "count_capped" not in body


def test_above_the_cap_the_count_stops_there_and_says_so(api, cap):
    DeployFactory.create_batch(cap + 5)
    body = api.get("/api/deploys/").json()
    assert body["count"] == cap
    assert body["count_capped"] is True
    assert len(body["results"]) == 50
    assert api.get("/api/deploys/", {"page": "2"}).json()["results"]  # within the cap
    beyond = api.get("/api/deploys/", {"page": "3"})
    assert beyond.status_code == 404
    assert "cursor" in beyond.json()["detail"]
    # The cursor still walks every deploy.
    seen, url = 0, "/api/deploys/?cursor="
    while url:
        page = api.get(url).json()
        seen += len(page["results"])
        url = page["next"]
    assert seen == cap + 5


def test_the_count_reads_at_most_cap_plus_one_rows(api, cap):
    DeployFactory.create_batch(3)
    with CaptureQueriesContext(connection) as ctx:
        api.get("/api/deploys/")
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    assert f"LIMIT {cap + 1}" in counts[0].upper()


def test_the_schema_documents_the_capped_count(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    page = schema["components"]["schemas"]["PaginatedDeployOutList"]
    assert "count_capped" in page["properties"]
    assert "10,000" in page["properties"]["count"]["description"]
