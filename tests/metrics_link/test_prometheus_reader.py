"""The Prometheus reader against a fake Prometheus this test controls (a local HTTP server
answering `query_range`): what it answers becomes the immune system's verdict and the incident's
impact charts; a timeout, an error or a malformed answer is "no data", never a 500."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
import urllib.parse
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from metrics_link.models import DeployWatch
from metrics_link.prometheus import query_range, series_points
from metrics_link.services.deploys import record_deploy
from metrics_link.services.watch import judge_deploy
from postmortems.selectors.impact import impact_section
from tests.factories import IncidentFactory, MetricSeriesFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

WEEK = 7 * 24 * 3600


class FakePrometheus:
    """Answers /api/v1/query_range with one series: `level(ts)` at every step, or what `mode`
    says ("timeout", "500", "error", "garbage", "empty")."""

    def __init__(self):
        self.mode = "ok"
        self.level = lambda ts: 100.0
        self.queries: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
                fake.queries.append(query)
                if fake.mode == "timeout":
                    time.sleep(1.5)
                if fake.mode == "500":
                    return self._send(500, b"boom")
                if fake.mode == "garbage":
                    return self._send(200, b"<html>not json")
                if fake.mode == "error":
                    return self._send(
                        400, json.dumps({"status": "error", "error": "parse error"}).encode()
                    )
                start, end, step = (float(query[k]) for k in ("start", "end", "step"))
                values = []
                ts = start
                while ts <= end:
                    values.append([ts, str(fake.level(ts))])
                    ts += step
                result = [] if fake.mode == "empty" else [{"metric": {}, "values": values}]
                body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
                return self._send(200, json.dumps(body).encode())

            def _send(self, status, body):
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (the timeout case)
                    pass

            def log_message(self, *args):
                pass

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def prometheus(settings):
    fake = FakePrometheus()
    settings.PROMETHEUS_URL = fake.url
    settings.PROMETHEUS_TIMEOUT_SECONDS = 0.5
    settings.PROMETHEUS_STEP_SECONDS = 60
    yield fake
    fake.server.shutdown()


@pytest.mark.parametrize("mode", ["timeout", "500", "error", "garbage", "empty"])
def test_a_failing_prometheus_gives_no_points(prometheus, mode):
    prometheus.mode = mode
    now = timezone.now()
    assert query_range("up", now - timedelta(minutes=10), now) == []


def test_points_come_back_as_utc_datetimes_and_non_finite_values_are_dropped(prometheus):
    prometheus.level = lambda ts: math.nan if int(ts) % 120 == 0 else 5.0
    now = timezone.now().replace(second=0, microsecond=0)
    points = series_points(
        MetricSeriesFactory(name="x", promql="x"), now - timedelta(minutes=10), now
    )
    assert points and all(v == 5.0 for _, v in points)
    assert all(ts.tzinfo is not None and ts <= now for ts, _ in points)


def test_a_deploy_that_drops_a_prometheus_series_is_regressed(prometheus):
    end = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    cut = end.timestamp()
    prometheus.level = lambda ts: 100.0 + (ts % 7) if ts <= cut else 60.0 + (ts % 7)
    MetricSeriesFactory(name="logins", watched=True, critical=True, promql="sum(logins)")
    deploy = record_deploy(service="web", finished_at=end).deploy
    watch = judge_deploy(deploy.pk)
    assert watch.status == DeployWatch.Status.REGRESSED, watch.results
    assert {q["query"] for q in prometheus.queries} == {"sum(logins)"}


@pytest.mark.parametrize("mode", ["timeout", "500"])
def test_a_prometheus_timeout_or_error_is_no_data_for_the_verdict(prometheus, mode):
    prometheus.mode = mode
    MetricSeriesFactory(name="logins", watched=True, promql="sum(logins)")
    deploy = record_deploy(service="web", finished_at=timezone.now() - timedelta(hours=1)).deploy
    watch = judge_deploy(deploy.pk)
    assert watch.status == DeployWatch.Status.NO_DATA
    assert "Too few points" in watch.results[0]["reason"]


def _incident_with_a_promql_series():
    service = ServiceFactory()
    MetricSeriesFactory(
        name="signups", label="Signups", kind="business", service=service, promql="sum(signups)"
    )
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=3)
    return IncidentFactory(
        services=[service],
        started_at=start,
        detected_at=start,
        mitigated_at=start + timedelta(minutes=30),
    )


def test_the_impact_charts_read_a_promql_series_from_prometheus(prometheus):
    incident = _incident_with_a_promql_series()
    start, end = incident.started_at.timestamp(), incident.mitigated_at.timestamp()
    # This week: half the signups during the incident; a week earlier: steady.
    prometheus.level = lambda ts: 50.0 if start <= ts < end else 100.0
    ctx = impact_section(incident, UserFactory())
    (row,) = ctx["rows"]
    assert row["series"].name == "signups"
    assert row["direction"] == "down" and row["chart"] is not None
    assert "fewer" in row["sentence"]
    assert len(prometheus.queries) == 2  # this week and a week earlier
    assert ctx["no_data"] == []


@pytest.mark.parametrize("mode", ["timeout", "error"])
def test_a_prometheus_failure_leaves_the_incident_page_up_saying_no_data(
    prometheus, mode, client_for
):
    prometheus.mode = mode
    incident = _incident_with_a_promql_series()
    ctx = impact_section(incident, UserFactory())
    assert ctx["no_data"] == ["Signups"] and ctx["rows"] == []
    viewer = UserFactory(is_staff=True, is_superuser=True)
    page = client_for(viewer).get(incident.get_absolute_url())
    assert page.status_code == 200
    assert "No signups data around this incident" in page.content.decode()


def test_the_deploy_page_charts_a_promql_series_from_prometheus(prometheus, client_for):
    end = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    cut = end.timestamp()
    prometheus.level = lambda ts: 100.0 + (ts % 7) if ts <= cut else 60.0 + (ts % 7)
    MetricSeriesFactory(name="logins", watched=True, critical=True, promql="sum(logins)")
    deploy = record_deploy(service="web", finished_at=end).deploy
    judge_deploy(deploy.pk)
    prometheus.queries.clear()
    page = client_for(UserFactory()).get(f"/deploys/{deploy.pk}/")
    assert page.status_code == 200
    # The window around the deploy and the same span a week earlier, both from Prometheus.
    assert [q["query"] for q in prometheus.queries] == ["sum(logins)", "sum(logins)"]
    assert "logins around the deploy" in page.content.decode().lower()
    assert "<svg" in page.content.decode()


def test_the_deploy_page_stays_up_when_prometheus_fails(prometheus, client_for):
    MetricSeriesFactory(name="logins", watched=True, promql="sum(logins)")
    deploy = record_deploy(service="web", finished_at=timezone.now() - timedelta(hours=1)).deploy
    judge_deploy(deploy.pk)
    prometheus.mode = "500"
    page = client_for(UserFactory()).get(f"/deploys/{deploy.pk}/")
    assert page.status_code == 200
