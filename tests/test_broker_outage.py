"""A broker outage loses nothing: a real worker, a private Redis that the test stops and starts.

While Redis is down, signed GitHub `deployment_status` webhooks, an Alertmanager alert and a
postmortem publication go through the real views: each answers quickly with 2xx and its row stays
pending (a retry of the same delivery too). When Redis is back, the sweep publishes them again —
this test runs `sweep_pending()` every second, the way beat runs it every minute, with the sweep
age shortened to 1 s — and the real worker processes each exactly once: one deploy, one incident,
one publication mail sent once.

The shared Redis on 6379 is never touched: the test starts its own `redis-server` on a free port.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from metrics_link.models import Deploy, OutboxMessage, WebhookDelivery
from metrics_link.services.sweep import sweep_pending
from metrics_link.webhooks import github
from postmortems.config import celery_app
from postmortems.models import Incident
from tests.factories import IncidentFactory, UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "webhooks"
SWEEP_SECONDS = 1
# A request must not wait for the broker: kombu's default publish retries alone took ≥ 2 s here.
QUICK = 1.0
CAP = 180  # the bound: processed within three minutes of Redis coming back


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.tmp_path = tmp_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.exceptions.ConnectionError):
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            time.sleep(0.05)
        pytest.fail("the private redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _reset_producer_pools() -> None:
    """The in-process app caches broker connections; drop them when its broker changes."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_redis(tmp_path, settings, monkeypatch):
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server on PATH to start a private Redis")
    server = PrivateRedis(tmp_path)
    server.start()
    # The Celery app reads its configuration from the Django settings (namespace CELERY), but
    # its broker URL from $CELERY_BROKER_URL first.
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    settings.CELERY_BROKER_URL = server.url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _reset_producer_pools()
    try:
        yield server
    finally:
        server.stop()
        _reset_producer_pools()


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@contextlib.contextmanager
def real_worker(tmp_path: Path, broker_url: str):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CONN_MAX_AGE": "0",
        "PENDING_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "ACTIONS_SEND_LOG": str(tmp_path / "sends.log"),
        "ACTIONS_SEND_SLEEP": "0",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "postmortems.config",
                "worker",
                "--pool=solo",
                "-n",
                "outage@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield log_path
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


def _wait_until_ready(worker_log: Path) -> None:
    deadline = time.monotonic() + 60
    while " ready." not in worker_log.read_text():
        if time.monotonic() > deadline:
            pytest.fail("the worker did not start\n" + worker_log.read_text()[-4000:])
        time.sleep(0.2)


def _timed(call):
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def _github(client, key: str):
    body = (FIXTURES / "github/deployment_status.success.json").read_bytes()
    return client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "deployment_status",
            "X-GitHub-Delivery": key,
            "X-Hub-Signature-256": github.sign(body, django_settings.GITHUB_WEBHOOK_SECRET),
        },
    )


def _alertmanager(client):
    body = (FIXTURES / "alertmanager/firing.no_url.json").read_bytes()
    return client.post(
        "/hooks/alertmanager/",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {django_settings.ALERTMANAGER_WEBHOOK_TOKEN}"},
    )


def _publish_through_the_pages(client, incident, author, reviewer):
    base = f"/incidents/{incident.pk}/postmortem/"
    client.force_login(author)
    client.post(base + "start/")
    # One editor form: the text, the reviewers chosen and "Submit for review" in one press.
    client.post(
        base + "submit/",
        {"version": 1, "reviewers": [reviewer.pk, author.pk], "reviewers_shown": "on"},
    )
    client.post(base + "approve/", {"comment": "Good."})
    return _timed(lambda: client.post(base + "publish/"))


def test_webhooks_and_a_publication_sent_while_redis_is_down_are_done_exactly_once_after(
    client, settings, private_redis, tmp_path
):
    settings.PENDING_SWEEP_SECONDS = SWEEP_SECONDS
    settings.ALL_STAFF_EMAIL = "everyone@example.com"
    assert celery_app.conf.broker_url == private_redis.url  # never the shared Redis
    assert not celery_app.conf.task_always_eager
    author, reviewer = UserFactory(), UserFactory()
    incident = IncidentFactory(commander=author, reporter=author, title="Queue stalled")
    sends = tmp_path / "sends.log"

    # Warm up (imports, URL resolver, first connection) so the timings below are the requests'.
    assert client.post("/hooks/github/", data="{}", content_type="application/json").status_code
    _timed(lambda: client.get("/healthz"))

    with real_worker(tmp_path, private_redis.url) as worker_log:
        _wait_until_ready(worker_log)
        private_redis.stop()  # the broker goes away; the worker keeps trying to reconnect

        # Everything is accepted, quickly, and kept pending.
        gh, gh_time = _timed(lambda: _github(client, "outage-deploy"))
        am, am_time = _timed(lambda: _alertmanager(client))
        published, pub_time = _publish_through_the_pages(client, incident, author, reviewer)
        retry, retry_time = _timed(lambda: _github(client, "outage-deploy"))  # GitHub retries
        assert (gh.status_code, am.status_code, retry.status_code) == (202, 202, 202)
        assert retry.json()["duplicate"] is False  # pending: accepted again, not "duplicate"
        assert published.status_code == 302 and "/postmortems/" in published["Location"]
        timings = {"github": gh_time, "alertmanager": am_time, "publish": pub_time}
        timings["retry"] = retry_time
        assert max(timings.values()) < QUICK, timings
        print("request times with Redis down (s):", {k: round(v, 3) for k, v in timings.items()})
        deliveries = WebhookDelivery.objects.all()
        assert deliveries.count() == 2
        assert set(deliveries.values_list("status", flat=True)) == {"received"}
        mails = OutboxMessage.objects.filter(channel=OutboxMessage.Channel.MAIL)
        mail_row = mails.get(dedupe_key__startswith="postmortem-version:")  # the publication
        assert set(mails.values_list("status", flat=True)) == {OutboxMessage.Status.PENDING}
        assert not Deploy.objects.exists()
        assert not Incident.objects.exclude(pk=incident.pk).exists()
        assert not sends.exists()

        private_redis.start()  # an empty Redis: whatever it held is gone, the rows are not
        back = time.monotonic()
        assert celery_app.conf.broker_url == private_redis.url
        deadline = time.monotonic() + CAP
        sweeps = 0

        def done() -> bool:
            return (
                not WebhookDelivery.objects.filter(status="received").exists()
                and not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()
            )

        while not done():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"not processed {CAP}s after Redis came back\n" + worker_log.read_text()[-4000:]
                )
            sweep_pending()  # what beat does every minute, here every second
            sweeps += 1
            time.sleep(1)

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    assert Deploy.objects.count() == 1
    deploy = Deploy.objects.get()
    payload = json.loads((FIXTURES / "github/deployment_status.success.json").read_bytes())
    assert deploy.external_id == str(payload["deployment"]["id"])
    opened = Incident.objects.exclude(pk=incident.pk)
    assert opened.count() == 1 and opened.get().origin == Incident.Origin.ALERT
    # Two mails were accepted during the outage: the review request and the publication.
    assert OutboxMessage.objects.filter(channel=OutboxMessage.Channel.MAIL).count() == 2
    lines = sends.read_text().splitlines()
    # Each sent once, though the sweep published them again and again.
    published = [line for line in lines if "Postmortem published" in line]
    assert len(published) == 1, lines
    assert "everyone@example.com" in published[0]
    assert len([line for line in lines if "Review requested" in line]) == 1, lines
    assert len(lines) == 2, lines
    mail_row.refresh_from_db()
    assert mail_row.attempts == 1
    assert sweeps >= 1
    print(f"processed {time.monotonic() - back:.1f} s after Redis came back ({sweeps} sweeps)")
