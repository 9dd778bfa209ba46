"""A real Celery worker on Redis, killed mid-send: the reminder stays recorded once, its mail is
one outbox row, and it is delivered at least once, at most twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from metrics_link.models import OutboxMessage
from postmortems.config import celery_app
from postmortems.models import ReminderSent
from postmortems.services import reminders
from postmortems.tasks.actions import send_reminder_task
from tests.factories import ActionItemFactory

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 4


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _start_worker(tmp_path: Path, name: str, sleep: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "0",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "ACTIONS_SEND_LOG": str(tmp_path / "sends.log"),
        "ACTIONS_SEND_SLEEP": str(sleep),
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "postmortems.config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            "celery",
            "-n",
            f"{name}@%h",
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


def _wait(predicate, timeout: float, what: str, proc_logs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    logs = "\n".join(p.read_text()[-2000:] for p in proc_logs if p.exists())
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def test_a_worker_killed_mid_send_loses_nothing_and_records_once(tmp_path):
    celery_app.control.purge()  # stale messages of earlier runs would only slow this one down
    item = ActionItemFactory(title="Killed mid-send", due_on=timezone.localdate())
    row = reminders.scan_reminders(enqueue=False).recorded[0]
    sends = tmp_path / "sends.log"
    logs = [tmp_path / "first.log", tmp_path / "second.log"]

    first = _start_worker(tmp_path, "first", sleep=120)  # blocks inside the send
    second = None
    try:
        send_reminder_task.delay(row.pk)
        _wait(
            lambda: sends.exists() and sends.read_text().count("\n") >= 1,
            20,
            "the first send",
            logs,
        )
        os.killpg(first.pid, signal.SIGKILL)  # the worker dies after handing the mail over
        first.wait(timeout=5)
        row.refresh_from_db()
        assert row.sent_at is not None  # the reminder was handed to the outbox …
        message = OutboxMessage.objects.get()
        assert message.status == OutboxMessage.Status.PENDING  # … whose send never finished

        second = _start_worker(tmp_path, "second", sleep=0)

        def delivered():
            message.refresh_from_db()
            return message.status == OutboxMessage.Status.SENT

        _wait(delivered, 30, "the redelivered task to finish", logs)
    finally:
        _stop(first)
        if second is not None:
            _stop(second)

    lines = sends.read_text().splitlines()
    assert 1 <= len(lines) <= 2, lines
    assert all(item.owner.email in line for line in lines)
    assert ReminderSent.objects.filter(action_item=item).count() == 1
    assert OutboxMessage.objects.count() == 1  # one message, however often it was attempted
    # A later scan finds it recorded and sent: nothing new, nothing re-enqueued.
    later = reminders.scan_reminders(enqueue=False)
    assert later.recorded == [] and later.resent == []
