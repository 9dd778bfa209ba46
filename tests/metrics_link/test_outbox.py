"""The outbox: a row per outgoing message, sent once, retried with backoff, then failed."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from metrics_link import tasks
from metrics_link.models import OutboxMessage
from metrics_link.services import outbox
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status
MAIL = {"subject": "Hello", "text": "Body", "html": "<p>Body</p>", "to": ["a@example.com"]}


def _queue(key="m-1", channel="mail", payload=None):
    return outbox.queue_message(channel=channel, payload=payload or MAIL, dedupe_key=key)


def test_a_message_is_recorded_once_however_often_its_producer_runs():
    first, created = _queue()
    again, created_again = _queue()
    assert created and not created_again
    assert again.pk == first.pk
    assert OutboxMessage.objects.count() == 1


def test_queueing_publishes_the_send_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    published = []
    monkeypatch.setattr(
        tasks.send_outbox_message_task, "apply_async", lambda args, **kw: published.append(args)
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message, _ = _queue()
        assert published == []  # nothing before the commit
    assert len(callbacks) == 1
    assert published == [(message.pk,)]


def test_a_message_is_sent_once_with_its_html():
    message, _ = _queue()
    assert outbox.send_message(message_id=message.pk) is True
    assert outbox.send_message(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.status == Status.SENT and message.sent_at is not None
    assert message.attempts == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["a@example.com"] and sent.subject == "Hello"
    assert sent.alternatives[0] == ("<p>Body</p>", "text/html")


def test_a_failed_send_backs_off_then_is_marked_failed_at_the_cap(settings, monkeypatch):
    settings.OUTBOX_MAX_ATTEMPTS = 3

    def refuse(payload):
        raise ConnectionRefusedError("smtp refused")

    monkeypatch.setitem(outbox.SENDERS, OutboxMessage.Channel.MAIL, refuse)
    message, _ = _queue()
    before = timezone.now()
    assert outbox.send_message(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.status == Status.PENDING and message.attempts == 1
    assert message.last_error == "ConnectionRefusedError: smtp refused"
    assert message.next_attempt_at >= before + timedelta(seconds=30)
    outbox.send_message(message_id=message.pk)
    message.refresh_from_db()
    assert message.next_attempt_at >= before + timedelta(seconds=60)  # doubled
    outbox.send_message(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == Status.FAILED and message.attempts == 3
    assert outbox.send_message(message_id=message.pk) is False  # failed is left to a person
    assert message.sent_at is None


def test_the_backoff_doubles_up_to_its_cap(settings):
    settings.OUTBOX_MAX_BACKOFF_SECONDS = 300
    waits = [outbox.backoff(n).total_seconds() for n in range(1, 7)]
    assert waits == [30, 60, 120, 240, 300, 300]


def test_retry_gives_a_failed_message_a_fresh_set_of_attempts_and_leaves_sent_ones(
    django_capture_on_commit_callbacks,
):
    failed, _ = _queue("failed")
    sent, _ = _queue("sent")
    OutboxMessage.objects.filter(pk=failed.pk).update(status=Status.FAILED, attempts=8)
    OutboxMessage.objects.filter(pk=sent.pk).update(status=Status.SENT, attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        assert outbox.retry_messages(messages=OutboxMessage.objects.all()) == 1
    assert len(callbacks) == 1
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert failed.status == Status.PENDING and failed.attempts == 0
    assert sent.status == Status.SENT and sent.attempts == 1


def test_slack_without_a_url_fails_the_attempt_with_a_reason(settings):
    settings.SLACK_WEBHOOK_URL = ""
    message, _ = _queue("s", channel="slack", payload={"text": "hi"})
    assert outbox.send_message(message_id=message.pk) is False
    message.refresh_from_db()
    assert "SLACK_WEBHOOK_URL is not set" in message.last_error


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", _Hook.received
    server.shutdown()
    server.server_close()


def test_an_outgoing_hook_is_posted_with_its_headers_and_body(hook_server):
    base, received = hook_server
    payload = {"url": f"{base}/deploy", "headers": {"X-Sig": "sha256=abc"}, "body": '{"a": 1}'}
    message, _ = _queue("h", channel="hook", payload=payload)
    assert outbox.send_message(message_id=message.pk) is True
    path, headers, body = received[0]
    assert path == "/deploy" and headers["X-Sig"] == "sha256=abc" and body == b'{"a": 1}'


def test_a_slack_post_goes_to_the_configured_url(hook_server, settings):
    base, received = hook_server
    settings.SLACK_WEBHOOK_URL = f"{base}/services/T/B/x"
    message, _ = _queue("s", channel="slack", payload={"text": "Published"})
    assert outbox.send_message(message_id=message.pk) is True
    assert received[0][0] == "/services/T/B/x"
    assert json.loads(received[0][2]) == {"text": "Published"}


def test_the_admin_lists_messages_by_status_with_their_error_and_retries_them(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    message, _ = _queue()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.FAILED, last_error="SMTPServerDisconnected: gone"
    )
    page = client.get("/admin/metrics_link/outboxmessage/?status__exact=failed")
    assert page.status_code == 200
    assert "SMTPServerDisconnected: gone" in page.content.decode()
    detail = client.get(f"/admin/metrics_link/outboxmessage/{message.pk}/change/")
    assert detail.status_code == 200
    response = client.post(
        "/admin/metrics_link/outboxmessage/",
        {"action": "retry", "_selected_action": [message.pk]},
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == Status.PENDING and message.attempts == 0
    delete = client.post(f"/admin/metrics_link/outboxmessage/{message.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert OutboxMessage.objects.filter(pk=message.pk).exists()


def test_the_admin_never_shows_an_outgoing_hooks_header_values(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    payload = {"url": "https://ci.example/hook", "headers": {"X-Sig": "sha256=SECRETSIG"}}
    message, _ = _queue("h", channel="hook", payload=payload)
    page = client.get(f"/admin/metrics_link/outboxmessage/{message.pk}/change/").content.decode()
    assert "X-Sig" in page and "SECRETSIG" not in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_message_at_once_send_it_once(monkeypatch):
    monkeypatch.setattr(tasks.send_outbox_message_task, "apply_async", lambda *a, **k: None)
    message, _ = _queue()  # committed for real; its own publish is held back
    sends = []

    def slow_send(payload):
        sends.append(payload)
        time.sleep(0.5)  # the first sender holds the row lock while the second arrives

    monkeypatch.setitem(outbox.SENDERS, OutboxMessage.Channel.MAIL, slow_send)
    results = []
    barrier = threading.Barrier(2)

    def send():
        try:
            barrier.wait(timeout=10)
            results.append(outbox.send_message(message_id=message.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(results) == [False, True]
    assert len(sends) == 1
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 1
