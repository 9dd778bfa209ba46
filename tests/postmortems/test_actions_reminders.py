"""The reminder scan: who is told what and when, recorded once, sent at least once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from metrics_link.models import OutboxMessage
from postmortems.models import ReminderSent
from postmortems.services import reminders
from postmortems.services.accounts import set_daily_digest
from postmortems.tasks.actions import send_reminder_task, send_reminders_task
from tests.factories import ActionItemFactory, IncidentFactory, TeamFactory, UserFactory
from tests.support.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

SECRET = "Tenant export leaked"


def _item(days_late: int, **kwargs):
    manager = kwargs.pop("manager", None) or UserFactory()
    team = kwargs.pop("team", None) or TeamFactory(manager=manager)
    return ActionItemFactory(
        team=team, due_on=timezone.localdate() - timedelta(days=days_late), **kwargs
    )


def _kinds(result):
    return sorted((r.kind, r.recipient.username) for r in result.recorded)


def test_the_owner_is_reminded_on_the_due_date():
    item = _item(0)
    result = reminders.scan_reminders(enqueue=False)
    assert _kinds(result) == [("due", item.owner.username)]
    assert result.recorded[0].period == item.due_on.isoformat()


def test_nothing_before_the_due_date_and_nothing_for_closed_items():
    _item(-1)
    _item(10, status="done")
    _item(10, is_deleted=True)
    assert reminders.scan_reminders(enqueue=False).recorded == []


def test_escalation_at_seven_days_goes_to_the_items_team_manager():
    manager = UserFactory(username="the-manager")
    # the owner's own team has another manager: the ITEM's team decides
    owner = UserFactory()
    TeamFactory(manager=UserFactory(username="wrong-manager"), members=[owner])
    item = _item(7, manager=manager, owner=owner)
    assert _kinds(reminders.scan_reminders(enqueue=False)) == [("escalated", "the-manager")]
    assert item.reminders.get().recipient == manager


def test_flag_at_fourteen_days_and_escalation_recorded_too():
    item = _item(15)
    assert _kinds(reminders.scan_reminders(enqueue=False)) == sorted(
        [("escalated", item.team.manager.username), ("flagged", item.owner.username)]
    )


def test_a_second_scan_records_nothing_new():
    _item(0)
    _item(8)
    first = reminders.scan_reminders(enqueue=False)
    second = reminders.scan_reminders(enqueue=False)
    assert len(first.recorded) == 2 and second.recorded == [] and second.skipped == 2
    assert ReminderSent.objects.count() == 2


def test_a_new_due_date_is_a_new_period():
    item = _item(0)
    reminders.scan_reminders(enqueue=False)
    item.due_on = timezone.localdate()  # unchanged: nothing new
    reminders.scan_reminders(enqueue=False)
    item.due_on = timezone.localdate() + timedelta(days=3)
    item.save()
    reminders.scan_reminders(today=item.due_on, enqueue=False)
    assert sorted(item.reminders.values_list("period", flat=True)) == sorted(
        [timezone.localdate().isoformat(), item.due_on.isoformat()]
    )


def test_the_scan_enqueues_one_send_per_recorded_row_on_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(send_reminder_task, "apply_async", lambda args, **kw: sent.append(args[0]))
    _item(0)
    _item(8)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send_reminders_task()
    assert len(callbacks) == 2
    assert sorted(sent) == sorted(ReminderSent.objects.values_list("pk", flat=True))


def test_sending_sets_sent_at_and_never_sends_twice():
    _item(0)
    row = reminders.scan_reminders(enqueue=False).recorded[0]
    assert reminders.send_reminder(reminder_id=row.pk) is True
    assert reminders.send_reminder(reminder_id=row.pk) is False
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1
    assert mail.outbox == []  # handed to the outbox, which sends after commit
    assert deliver_outbox() == 1
    assert deliver_outbox() == 0
    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT


def test_unsent_rows_older_than_a_few_minutes_are_enqueued_again():
    _item(0)
    row = reminders.scan_reminders(enqueue=False).recorded[0]
    ReminderSent.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - reminders.RESEND_AFTER - timedelta(minutes=1)
    )
    assert reminders.scan_reminders(enqueue=False).resent == [row.pk]
    reminders.send_reminder(reminder_id=row.pk)
    assert reminders.scan_reminders(enqueue=False).resent == []


def test_the_owners_email_links_back_to_the_item(settings, incident):
    settings.SITE_URL = "https://pm.example.com"
    item = _item(0, incident=incident, owner=incident.commander, title="Add the alert")
    row = reminders.scan_reminders(enqueue=False).recorded[0]
    reminders.send_reminder(reminder_id=row.pk)
    deliver_outbox()
    message = mail.outbox[0]
    assert message.to == [item.owner.email]
    assert message.subject == "Due today: Add the alert"
    html = message.alternatives[0][0]
    link = f"https://pm.example.com/actions/{item.pk}/"
    assert link in message.body and f'href="{link}"' in html
    assert incident.title in message.body  # the owner can see this public incident


def test_the_managers_escalation_hides_a_restricted_incident_they_cannot_see(settings):
    settings.SITE_URL = "https://pm.example.com"
    incident = IncidentFactory(restricted=True, title=SECRET)
    item = _item(8, incident=incident, owner=incident.commander, title="Rotate keys")
    row = reminders.scan_reminders(enqueue=False).recorded[0]
    assert row.recipient == item.team.manager
    reminders.send_reminder(reminder_id=row.pk)
    deliver_outbox()
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert "Rotate keys" in message.body and "overdue by 8 days" in message.body
    assert SECRET not in message.body and SECRET not in html and SECRET not in message.subject
    assert "restricted incident" in message.body
    assert f"https://pm.example.com/actions/{item.pk}/" in html


class _SlackHandler(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def slack_server(settings):
    _SlackHandler.received = []
    server = HTTPServer(("127.0.0.1", 0), _SlackHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SLACK_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    yield _SlackHandler.received
    server.shutdown()
    server.server_close()


def test_a_slack_message_is_posted_when_a_webhook_is_set(slack_server, settings):
    settings.SITE_URL = "https://pm.example.com"
    item = _item(8, title="Cap the pool")
    restricted = _item(8, incident=IncidentFactory(restricted=True, title=SECRET))
    for row in reminders.scan_reminders(enqueue=False).recorded:
        reminders.send_reminder(reminder_id=row.pk)
    deliver_outbox()
    texts = sorted(m["text"] for m in slack_server)
    assert len(texts) == 2
    public = next(t for t in texts if "Cap the pool" in t)
    assert f"https://pm.example.com/actions/{item.pk}/" in public and "overdue by 8 days" in public
    hidden = next(t for t in texts if f"/actions/{restricted.pk}/" in t)
    assert SECRET not in hidden and restricted.title not in hidden


def test_a_failed_slack_call_keeps_its_message_pending_for_a_retry(settings):
    settings.SLACK_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens-here"
    _item(0)
    row = reminders.scan_reminders(enqueue=False).recorded[0]
    assert reminders.send_reminder(reminder_id=row.pk) is True
    assert deliver_outbox() == 1  # the mail went; Slack refused
    assert len(mail.outbox) == 1
    post = OutboxMessage.objects.get(channel=OutboxMessage.Channel.SLACK)
    assert post.status == OutboxMessage.Status.PENDING and post.attempts == 1
    assert "URLError" in post.last_error
    assert post.next_attempt_at > timezone.now()  # backing off before the sweep sends it again


def test_digest_users_get_one_email_a_day_instead_of_single_ones():
    owner = UserFactory()
    set_daily_digest(user=owner, enabled=True)
    _item(0, owner=owner, title="First")
    _item(3, owner=owner, title="Second")
    morning = timezone.localtime().replace(hour=reminders.DIGEST_HOUR - 1, minute=0)
    # before the morning cutoff: recorded, kept out of the single-email queue, not sent yet
    result = reminders.scan_reminders(enqueue=False, now=morning)
    assert len(result.recorded) == 2 and result.digests == []
    assert reminders.unsent_rows() == []  # not in the single-email queue
    tomorrow_noon = (timezone.localtime() + timedelta(days=1)).replace(hour=12)
    result = reminders.scan_reminders(enqueue=False, now=tomorrow_noon)
    assert result.digests == [owner.pk]
    assert reminders.send_digest(user_id=owner.pk, cutoff=None) == 2
    deliver_outbox()
    assert len(mail.outbox) == 1
    assert "First" in mail.outbox[0].body and "Second" in mail.outbox[0].body
    assert reminders.send_digest(user_id=owner.pk, cutoff=None) == 0


def test_the_command_scans_sends_and_says_what_it_did(
    capsys, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded run: no broker, so it sends itself
    item = _item(0)
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends after commit
        call_command("send_reminders")
    out = capsys.readouterr().out
    assert "recorded 1 reminder(s) (1 due)" in out
    assert f"item #{item.pk}" in out and "Sent 1 reminder(s)" in out
    assert len(mail.outbox) == 1
    call_command("send_reminders")
    assert "recorded 0 reminder(s)" in capsys.readouterr().out
    assert len(mail.outbox) == 1


def test_with_a_broker_the_command_leaves_sending_to_the_workers(
    capsys, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(
        send_reminder_task, "apply_async", lambda args, **kw: queued.append(args[0])
    )
    _item(0)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders")
    assert "left to the Celery workers" in capsys.readouterr().out
    assert queued == list(ReminderSent.objects.values_list("pk", flat=True))
    assert mail.outbox == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scans_record_each_reminder_exactly_once():
    items = [_item(days) for days in (0, 7, 15) for _ in range(5)]
    expected = 5 * (1 + 1 + 2)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scan():
        try:
            barrier.wait(timeout=10)
            results.append(reminders.scan_reminders(enqueue=False))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert ReminderSent.objects.count() == expected
    assert sum(len(r.recorded) for r in results) == expected
    assert sum(r.skipped for r in results) == expected
    assert len(items) == 15


def test_recording_the_same_reminder_twice_is_skipped_by_the_constraint():
    item = _item(0)
    first = reminders._record(item, "due", item.owner)
    assert first is not None
    assert reminders._record(item, "due", item.owner) is None  # IntegrityError, caught
    assert ReminderSent.objects.count() == 1


def test_history_imported_long_overdue_is_caught_up_without_a_message(
    settings, django_capture_on_commit_callbacks, monkeypatch
):
    """Items overdue more than REMINDER_CATCH_UP_DAYS at their first scan get their rows
    recorded as handled (no mail), so importing years of history queues no flood of mail;
    items inside the threshold, or already reminded for their due date, are told as usual."""
    settings.REMINDER_CATCH_UP_DAYS = 28
    sent = []
    monkeypatch.setattr(send_reminder_task, "apply_async", lambda args, **kw: sent.append(args[0]))
    old = _item(29)
    recent = _item(20)
    reminded = _item(40)
    ReminderSent.objects.create(
        action_item=reminded, kind="escalated", period=reminded.due_on.isoformat()
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = reminders.scan_reminders()
    assert result.caught_up == 2 and "2 caught up without a message" in result.summary()
    silent = list(old.reminders.all())
    assert sorted(r.kind for r in silent) == ["escalated", "flagged"]
    assert all(reminders.is_caught_up(r) and r.sent_at is not None for r in silent)
    # the recent item is escalated and flagged with messages; the reminded one gets its flag
    told = sorted((r.action_item_id, r.kind) for r in result.recorded)
    assert told == sorted(
        [(recent.pk, "escalated"), (recent.pk, "flagged"), (reminded.pk, "flagged")]
    )
    assert sorted(sent) == sorted(r.pk for r in result.recorded)
    # the caught-up rows still count as flagged for the weekly review, and are never re-sent
    later = timezone.now() + reminders.RESEND_AFTER * 2
    resent = reminders.scan_reminders(enqueue=False, now=later).resent
    assert not {r.pk for r in silent} & set(resent)
    assert not any(reminders.is_caught_up(r) for r in result.recorded)


def test_the_steady_scan_selects_only_items_missing_a_reminder():
    _item(0)
    _item(8)
    _item(15)
    assert reminders.missing_reminders(timezone.localdate()).count() == 3
    reminders.scan_reminders(enqueue=False)
    assert reminders.missing_reminders(timezone.localdate()).count() == 0
    # a new band is due: only that item is selected again
    tomorrow = timezone.localdate() + timedelta(days=7)
    assert reminders.missing_reminders(tomorrow).count() == 2  # escalated; flagged
