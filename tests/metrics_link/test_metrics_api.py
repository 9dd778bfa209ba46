"""POST /api/metrics/{name}/points/ and /increment/: all-or-nothing validation, upserts, counters."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from metrics_link.models import MetricPoint, MetricSeries
from metrics_link.services.metrics import get_or_create_series, increment_counter
from tests.factories import MetricSeriesFactory, UserFactory

T0 = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)


@pytest.fixture
def api(api_client_for, user):
    return api_client_for(user)


def post(api, name, body, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return api.post(
        f"/api/metrics/{name}/points/{'?' + query if query else ''}", body, format="json"
    )


@pytest.mark.django_db
class TestPoints:
    def test_points_are_stored_and_an_unknown_series_is_created_as_business(self, api):
        body = [
            {"ts": "2026-11-02T14:05:00Z", "value": 10},
            {"ts": "2026-11-02T15:10:00+01:00", "value": 2.5},
        ]
        response = post(api, "logins", body, unit="logins")

        assert response.status_code == 201, response.json()
        assert response.json() == {"series": "logins", "stored": 2}
        series = MetricSeries.objects.get(name="logins")
        assert (series.kind, series.unit, series.aggregation) == ("business", "logins", "sum")
        assert list(series.points.values_list("ts", "value")) == [
            (T0, 10.0),
            (T0 + timedelta(minutes=5), 2.5),
        ]

    def test_a_series_can_be_created_as_system(self, api):
        post(api, "db-connections", [{"ts": "2026-11-02T14:05:00Z", "value": 180}], kind="system")
        assert MetricSeries.objects.get(name="db-connections").kind == "system"

    def test_sending_a_point_again_replaces_its_value(self, api):
        post(api, "revenue", [{"ts": "2026-11-02T14:05:00Z", "value": 10}])
        post(api, "revenue", [{"ts": "2026-11-02T14:05:00Z", "value": 12}])
        assert list(MetricPoint.objects.values_list("value", flat=True)) == [12.0]

    def test_one_bad_item_stores_nothing_and_every_bad_item_gets_a_message(self, api):
        MetricSeriesFactory(name="revenue")
        future = (timezone.now() + timedelta(hours=1)).isoformat()
        body = [
            {"ts": "2026-11-02T14:05:00Z", "value": 10},
            {"ts": "2026-11-02T14:10:00", "value": 1},  # no zone
            {"ts": "yesterday", "value": "3"},
            {"value": 1},
            {"ts": future, "value": 1},
            "nope",
            {"ts": "2026-11-02T14:05:00Z", "value": 1, "extra": True},
        ]
        response = post(api, "revenue", body)

        assert response.status_code == 400
        errors = response.json()
        assert errors["detail"] == "6 of 7 points are invalid; nothing was stored."
        items = errors["points"]
        assert set(items) == {"1", "2", "3", "4", "5", "6"}
        assert "time zone" in items["1"]["ts"][0]
        assert "ISO 8601" in items["2"]["ts"][0]
        assert items["2"]["value"] == ["value must be a finite number."]
        assert items["3"]["ts"] == ["This field is required."]
        assert "future" in items["4"]["ts"][0]
        assert items["5"]["non_field_errors"] == ["Expected an object {ts, value}."]
        assert "Same ts as item 0." in items["6"]["ts"]
        assert "extra" in items["6"]["non_field_errors"][0]
        assert MetricPoint.objects.count() == 0

    @pytest.mark.parametrize(
        ("name", "body", "message"),
        [
            ("revenue", {"ts": "2026-11-02T14:05:00Z", "value": 1}, "Send a JSON list"),
            ("revenue", [], "The list is empty."),
            ("not a slug!", [{"ts": "2026-11-02T14:05:00Z", "value": 1}], "slug"),
        ],
    )
    def test_malformed_requests_answer_400_and_create_nothing(self, api, name, body, message):
        response = post(api, name, body)
        assert response.status_code == 400
        assert message in str(response.json())
        assert MetricSeries.objects.count() == 0
        assert MetricPoint.objects.count() == 0

    def test_non_finite_values_are_refused(self, api):
        response = api.post(
            "/api/metrics/revenue/points/",
            data='[{"ts": "2026-11-02T14:05:00Z", "value": NaN}]',
            content_type="application/json",
        )
        assert response.status_code == 400
        assert MetricPoint.objects.count() == 0

    def test_it_needs_a_signed_in_user(self, client):
        response = client.post(
            "/api/metrics/revenue/points/", data="[]", content_type="application/json"
        )
        assert response.status_code in (401, 403)


@pytest.mark.django_db
class TestIncrement:
    def test_increments_add_up_in_the_minute_bucket(self, api):
        for _ in range(3):
            response = api.post(
                "/api/metrics/signups/increment/", {"ts": "2026-11-02T14:05:41Z"}, format="json"
            )
        api.post(
            "/api/metrics/signups/increment/",
            {"ts": "2026-11-02T14:05:02Z", "value": 2.5},
            format="json",
        )
        api.post("/api/metrics/signups/increment/", {"ts": "2026-11-02T14:06:00Z"}, format="json")

        assert response.status_code == 200
        assert response.json()["ts"] == "2026-11-02T14:05:00Z"
        assert list(MetricPoint.objects.order_by("ts").values_list("ts", "value")) == [
            (T0, 5.5),
            (T0 + timedelta(minutes=1), 1.0),
        ]

    def test_an_empty_body_counts_one_now(self, api):
        response = api.post("/api/metrics/signups/increment/")
        assert response.status_code == 200
        assert response.json()["value"] == 1.0
        assert MetricPoint.objects.get().ts.second == 0

    @pytest.mark.parametrize(
        "body",
        [{"value": "many"}, {"value": True}, {"ts": "soon"}, {"ts": "2026-11-02T14:05:00"}],
    )
    def test_bad_input_counts_nothing(self, api, body):
        response = api.post("/api/metrics/signups/increment/", body, format="json")
        assert response.status_code == 400
        assert response.json()["detail"] == "Nothing was counted."
        assert MetricSeries.objects.count() == 0
        assert MetricPoint.objects.count() == 0


def test_the_schema_documents_both_endpoints(api_client_for, db):
    schema = api_client_for(UserFactory()).get("/api/schema/", {"format": "json"}).json()
    points = schema["paths"]["/api/metrics/{name}/points/"]["post"]
    assert "400" in points["responses"]
    assert "creates the series" in points["description"]
    assert "/api/metrics/{name}/increment/" in schema["paths"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_sum_exactly_on_postgresql():
    series = get_or_create_series(name="concurrent-counter")
    at = timezone.now().replace(second=30, microsecond=0)
    threads_count, per_thread = 8, 25
    barrier = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            for _ in range(per_thread):
                increment_counter(series=series, by=1, at=at)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    point = MetricPoint.objects.get(series=series)
    assert point.value == threads_count * per_thread
    assert point.ts == at.replace(second=0)
