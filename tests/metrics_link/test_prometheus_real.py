"""The immune system against a real Prometheus (Debian's package): it scrapes a tiny exporter this
test controls; a deploy, then the metric degrades, and the verdict is `regressed`, the incident
opens with the deploy first (its impact chart read from the same Prometheus), and the signed hook
reaches a local receiver.

A fresh Prometheus has no week-old data: the judgment is against the window before only. The
scrape interval is 1 s and the watch window 8 s, so the whole test takes about half a minute.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from metrics_link.models import DeployWatch, MetricSeries, OutboxMessage
from metrics_link.prometheus import query_values
from metrics_link.services.deploys import record_deploy
from metrics_link.services.outbox import send_message
from metrics_link.services.watch import judge_deploy
from postmortems.models import Incident
from postmortems.selectors.impact import impact_section
from postmortems.selectors.suspects import ranked_suspects
from tests.factories import UserFactory

pytestmark = [pytest.mark.prometheus, pytest.mark.django_db]

WINDOW = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """Serves `demo_logins <level ± 2%>` on /metrics."""

    def __init__(self):
        self.level = 100.0
        rng = random.Random(7)
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                value = exporter.level * (1 + rng.gauss(0, 0.02))
                body = f"# TYPE demo_logins gauge\ndemo_logins {value:.3f}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]


class Receiver:
    """Keeps every POST it receives: (headers, body)."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/rollback"


@pytest.fixture
def prometheus(tmp_path):
    exporter = Exporter()
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: demo\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{exporter.port}']\n"
    )
    process = subprocess.Popen(  # noqa: S603 (the Debian binary, our own arguments)
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("prometheus did not become ready")
        yield url, exporter
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        exporter.server.shutdown()


def test_a_deploy_that_degrades_a_prometheus_metric_is_caught(
    prometheus, settings, django_capture_on_commit_callbacks
):
    url, exporter = prometheus
    receiver = Receiver()
    settings.PROMETHEUS_URL = url
    settings.PROMETHEUS_STEP_SECONDS = 1
    settings.DEPLOY_WATCH_SECONDS = WINDOW
    settings.DEPLOY_WATCH_HOOK_URL = receiver.url
    settings.DEPLOY_WATCH_HOOK_SECRET = "hook-secret"
    MetricSeries.objects.create(
        name="logins", label="Logins", watched=True, critical=True, promql="demo_logins"
    )
    time.sleep(WINDOW + 2)  # the window before fills with healthy scrapes
    with django_capture_on_commit_callbacks(execute=True):
        deploy = record_deploy(service="profile-web", version="v2.41.0").deploy
    exporter.level = 40.0  # the deploy broke logins
    time.sleep(WINDOW + 2)
    now = timezone.now()
    assert len(query_values("demo_logins", now - timedelta(seconds=WINDOW), now)) >= 5
    with django_capture_on_commit_callbacks(execute=True):
        watch = judge_deploy(deploy.pk)
    assert watch.status == DeployWatch.Status.REGRESSED, watch.results
    assert "judged against the window before only" in watch.results[0]["reason"]
    incident = Incident.objects.get()
    assert ranked_suspects(incident)[0].deploy == deploy
    # The incident's impact chart reads the same series from the same Prometheus.
    impact = impact_section(incident, UserFactory())
    (row,) = impact["rows"]
    assert row["series"].name == "logins" and row["chart"] is not None
    hook = OutboxMessage.objects.get(channel="hook")
    send_message(message_id=hook.pk)  # what the worker does (already done when tasks run eagerly)
    headers, body = receiver.received[0]
    expected = hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Postmortems-Signature"] == f"sha256={expected}"
    assert json.loads(body)["deploy"]["version"] == "v2.41.0"
    receiver.server.shutdown()


def test_an_unreachable_prometheus_is_no_data_not_an_error(settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    MetricSeries.objects.create(name="logins", watched=True, promql="demo_logins")
    deploy = record_deploy(service="web", finished_at=timezone.now() - timedelta(hours=1)).deploy
    assert judge_deploy(deploy.pk).status == DeployWatch.Status.NO_DATA
