"""Reminders, escalations and flags of overdue action items.

The scan (Celery beat every 5 minutes, or `manage.py send_reminders`) decides who must hear about
which item; the send task delivers. Two guarantees, and where each comes from:

* Exactly-once RECORD per (item, kind, period): `ReminderSent`'s unique constraint. The scan
  inserts each row in its own savepoint and treats an IntegrityError as "another scan got there
  first" — so two scans running at once record one row (on PostgreSQL the second INSERT waits for
  the first transaction and then fails on the constraint).
* At-least-once SENDING: the row is written first with `sent_at` NULL, the send task is enqueued
  on commit, and the task turns the row into outbox messages (mail, Slack) and sets `sent_at`
  in one transaction: `sent_at` means "handed to the outbox". The outbox
  (metrics_link/services/outbox.py) sends each message, retries it with backoff and keeps
  failures for the admin; a worker that dies mid-send leaves the message pending and its
  unacknowledged task is redelivered (acks_late + reject_on_worker_lost + the broker's
  visibility timeout), and the sweep publishes it again. The scan also re-enqueues rows left
  unsent for a few minutes (a lost publish). Worst case one message is repeated; none is lost.

Daily digest: users with `Profile.daily_digest` get no single messages. Their rows stay unsent
until the first scan after DIGEST_HOUR (local time) each day, which enqueues one digest per user
with every row recorded before that day's cutoff; rows recorded later wait for the next day.
`manage.py send_reminders --digest` sends pending digests at once, ignoring the cutoff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from metrics_link.links import absolute_url
from metrics_link.queue import enqueue_on_commit

from ..display import display_name
from ..models import ActionItem, Profile, ReminderSent
from ..selectors.actions import OPEN_STATUSES, days_overdue, incident_visible_to
from .mail import queue_mail, templated_email
from .slack import queue_slack

log = logging.getLogger(__name__)

ESCALATE_AFTER_DAYS = 7
FLAG_AFTER_DAYS = 14
RESEND_AFTER = timedelta(minutes=10)  # longer than a send ever takes; shorter than a day
MAX_ATTEMPTS = 20
DIGEST_HOUR = 8

Kind = ReminderSent.Kind


@dataclass
class ScanResult:
    recorded: list[ReminderSent] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)  # stale unsent rows enqueued again
    digests: list[int] = field(default_factory=list)  # user ids whose digest was enqueued
    caught_up: int = 0  # rows recorded without a message (history imported long overdue)
    today: date | None = None

    @cached_property
    def skipped(self) -> int:
        """Reminders due today that were already recorded (by an earlier or a concurrent scan).

        Counted in SQL on demand (tests, diagnostics): the scan itself never reads the rows it
        does not need, so the count is not part of every scan's cost nor of `summary()`."""
        if self.today is None:
            return 0
        return recorded_reminder_count(self.today) - len(self.recorded) - self.caught_up

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for row in self.recorded:
            kinds[row.kind] = kinds.get(row.kind, 0) + 1
        made = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
        return (
            f"recorded {len(self.recorded)} reminder(s) ({made}); "
            f"{len(self.resent)} unsent re-enqueued; {len(self.digests)} digest(s) enqueued"
            + (f"; {self.caught_up} caught up without a message" if self.caught_up else "")
        )


def due_reminders(item: ActionItem, today: date) -> list[tuple[str, User | None]]:
    """Which (kind, recipient) this open item calls for today.

    due: on the due date (and the days after, until the escalation takes over, so a scan that
    missed the day still reminds) → the owner. escalated: overdue ≥ 7 days → the team's manager.
    flagged: overdue ≥ 14 days → listed on the weekly review; the owner is told.
    """
    if item.due_on is None or item.due_on > today:
        return []
    late = (today - item.due_on).days
    wanted: list[tuple[str, User | None]] = []
    if late < ESCALATE_AFTER_DAYS and item.owner_id:
        wanted.append((Kind.DUE, item.owner))
    if late >= ESCALATE_AFTER_DAYS:
        wanted.append((Kind.ESCALATED, item.team.manager or item.owner))
    if late >= FLAG_AFTER_DAYS:
        wanted.append((Kind.FLAGGED, item.owner or item.team.manager))
    return wanted


def _period(item: ActionItem) -> str:
    """A reminder's period: the item's due date, ISO (only dated items are reminded)."""
    return str(item.due_on)


def _record(
    item: ActionItem, kind: str, recipient: User | None, *, caught_up_at: datetime | None = None
) -> ReminderSent | None:
    """Insert-or-skip. The savepoint keeps the caller's transaction usable after a conflict.

    `caught_up_at`: record the row as already handled at that moment, without a message (see
    `is_caught_up`)."""
    try:
        with transaction.atomic():
            return ReminderSent.objects.create(
                action_item=item,
                kind=kind,
                period=_period(item),
                recipient=recipient,
                sent_at=caught_up_at,
            )
    except IntegrityError:
        return None


def is_caught_up(row: ReminderSent) -> bool:
    """A row the catch-up rule recorded without a message: `sent_at` set while no send was ever
    attempted (every send and digest counts an attempt first)."""
    return row.sent_at is not None and row.attempts == 0


def catch_up_days() -> int:
    """Items overdue more than this many days at their first scan are caught up silently."""
    return int(settings.REMINDER_CATCH_UP_DAYS)


def _reminded(kind: str) -> Exists:
    """The item already has its `kind` reminder for its current due date (the period)."""
    return Exists(
        ReminderSent.objects.filter(
            action_item=OuterRef("pk"),
            kind=kind,
            period=Cast(OuterRef("due_on"), output_field=CharField()),
        )
    )


def _open_due(today: date) -> QuerySet[ActionItem]:
    return ActionItem.objects.alive().filter(
        status__in=OPEN_STATUSES, due_on__isnull=False, due_on__lte=today
    )


def _bands(today: date) -> list[tuple[str, Q]]:
    """`due_reminders`' bands in SQL: (kind, which open dated items are due that kind today)."""
    escalate_from = today - timedelta(days=ESCALATE_AFTER_DAYS)
    flag_from = today - timedelta(days=FLAG_AFTER_DAYS)
    return [
        (Kind.DUE, Q(due_on__gt=escalate_from, owner__isnull=False)),
        (Kind.ESCALATED, Q(due_on__lte=escalate_from)),
        (Kind.FLAGGED, Q(due_on__lte=flag_from)),
    ]


def missing_reminders(today: date) -> QuerySet[ActionItem]:
    """Open dated items still missing a reminder they are due today — the same bands as
    `due_reminders`, in SQL: one probe of the (item, kind, period) constraint's index per band
    instead of reading every recorded row. In steady state this is (almost) empty."""
    missing = Q()
    for kind, band in _bands(today):
        missing |= band & ~Q(_reminded(kind))
    return _open_due(today).filter(missing).order_by("due_on", "pk")


def recorded_reminder_count(today: date) -> int:
    """How many of the reminders due today are recorded (one count per band)."""
    return sum(
        _open_due(today).filter(band).filter(_reminded(kind)).count()
        for kind, band in _bands(today)
    )


def _wants_digest(user_ids: Iterable[int]) -> set[int]:
    return set(
        Profile.objects.filter(user_id__in=user_ids, daily_digest=True).values_list(
            "user_id", flat=True
        )
    )


def digest_cutoff(now: datetime | None = None) -> datetime | None:
    """Today's digest cutoff (DIGEST_HOUR local), or None before it."""
    local = timezone.localtime(now or timezone.now())
    cutoff = datetime.combine(local.date(), time(DIGEST_HOUR), tzinfo=local.tzinfo)
    return cutoff if local >= cutoff else None


def scan_reminders(
    *, today: date | None = None, now: datetime | None = None, enqueue: bool = True
) -> ScanResult:
    """Record the reminders due now and enqueue their sending (on commit). Safe to run anywhere,
    any number of times, concurrently."""
    from ..tasks.actions import (
        send_digest_task,
        send_reminder_task,
    )  # service→task enqueue (tasks import services)

    now = now or timezone.now()
    today = today or timezone.localdate(now)
    result = ScanResult(today=today)
    items = list(missing_reminders(today).select_related("owner", "team__manager"))
    # The few rows these items already have (one band recorded, the next one due) are skipped
    # without an INSERT; the unique constraint still decides between scans running at once.
    done: set[tuple[int, str, str]] = set()
    for chunk in range(0, len(items), 1000):
        done.update(
            ReminderSent.objects.filter(
                action_item__in=[i.pk for i in items[chunk : chunk + 1000]]
            ).values_list("action_item_id", "kind", "period")
        )
    # Catch-up: an item overdue more than REMINDER_CATCH_UP_DAYS with no reminder at all for its
    # due date (history imported long overdue) gets its rows recorded without a message.
    catch_up_before = today - timedelta(days=catch_up_days())
    has_any = {(pk, period) for pk, _, period in done}
    for item in items:
        silent = (
            item.due_on is not None
            and item.due_on < catch_up_before
            and (item.pk, _period(item)) not in has_any
        )
        for kind, recipient in due_reminders(item, today):
            if (item.pk, kind, _period(item)) in done:
                continue
            row = _record(item, kind, recipient, caught_up_at=now if silent else None)
            if row is None:
                continue  # a concurrent scan recorded it first
            if silent:
                result.caught_up += 1
            else:
                result.recorded.append(row)
    digest_users = _wants_digest({r.recipient_id for r in result.recorded if r.recipient_id})

    # Rows left unsent (a worker died, the mail server was down): enqueue again. A duplicate
    # task for a row is harmless: the send task locks the row and skips it once sent.
    stale = list(
        ReminderSent.objects.filter(
            sent_at__isnull=True, created_at__lt=now - RESEND_AFTER, attempts__lt=MAX_ATTEMPTS
        )
        .exclude(recipient__profile__daily_digest=True)
        .values_list("pk", flat=True)[:500]
    )
    result.resent = stale

    cutoff = digest_cutoff(now)
    if cutoff is not None:
        result.digests = sorted(
            set(
                ReminderSent.objects.filter(
                    sent_at__isnull=True,
                    created_at__lt=cutoff,
                    recipient__profile__daily_digest=True,
                    attempts__lt=MAX_ATTEMPTS,
                ).values_list("recipient_id", flat=True)
            )
        )
    if enqueue:
        for row in result.recorded:
            if row.recipient_id not in digest_users:
                enqueue_on_commit(send_reminder_task, row.pk)
        for pk in stale:
            enqueue_on_commit(send_reminder_task, pk)
        for user_id in result.digests:
            enqueue_on_commit(send_digest_task, user_id)
    return result


# --- sending ---------------------------------------------------------------------------------

SUBJECTS: dict[str, str] = {
    Kind.DUE: "Due today: {title}",
    Kind.ESCALATED: "Overdue {days} days (escalated): {title}",
    Kind.FLAGGED: "Flagged for the weekly review, overdue {days} days: {title}",
}


def reminder_context(row: ReminderSent, *, today: date | None = None) -> dict[str, Any]:
    """What a message may say. The incident's details appear only if the recipient can see
    the incident (a manager of a restricted incident's item sees the item, not the incident)."""
    item = row.action_item
    recipient = row.recipient
    visible = incident_visible_to(item, recipient) if recipient else False
    return {
        "row": row,
        "item": item,
        "recipient": recipient,
        "incident_visible": visible,
        "days_overdue": days_overdue(item, today),
        "item_url": absolute_url(item.get_absolute_url()),
        "incident_url": absolute_url(item.incident.get_absolute_url())
        if visible and item.incident
        else "",
        "list_url": absolute_url("/actions/"),
        "preferences_url": absolute_url("/me/"),
    }


def render_reminder(row: ReminderSent) -> EmailMultiAlternatives | None:
    recipient = row.recipient
    if recipient is None or not recipient.email or not recipient.is_active:
        return None
    ctx = reminder_context(row)
    subject = SUBJECTS[row.kind].format(title=row.action_item.title, days=ctx["days_overdue"])
    return templated_email(
        subject=subject,
        template="postmortems/email/action_reminder",
        context=ctx,
        to=[recipient.email],
        headers={"Auto-Submitted": "auto-generated"},
    )


def slack_text(row: ReminderSent) -> str:
    """The Slack channel is read by many: never name a restricted incident, nor its item."""
    item = row.action_item
    url = absolute_url(item.get_absolute_url())
    owner = display_name(item.owner, "nobody")
    if item.incident is not None and item.incident.is_restricted:
        head = "An action item of a restricted incident"
        return f"{head} needs attention ({row.get_kind_display().lower()}): <{url}|open it>"
    late = days_overdue(item)
    words: dict[str, str] = {
        Kind.DUE: "is due today",
        Kind.ESCALATED: f"is overdue by {late} days; escalated to the team's manager",
        Kind.FLAGGED: f"is overdue by {late} days; flagged for the weekly review",
    }
    what = words[row.kind]
    return f"Action item <{url}|{item.title}> (owner {owner}, team {item.team.name}) {what}."


def send_reminder(*, reminder_id: int) -> bool:
    """Hand one recorded reminder to the outbox (mail, and Slack when configured) unless already
    done. Returns whether it was handed over now.

    The row is locked (skip_locked: a duplicate task for the same row, e.g. a redelivery racing
    a re-enqueue, leaves at once); the outbox rows and `sent_at` commit together, and the outbox
    rows' dedupe keys make a repeat record nothing twice.
    """
    # Counted outside the send's transaction, so failed attempts are counted too.
    ReminderSent.objects.filter(pk=reminder_id, sent_at__isnull=True).update(
        attempts=F("attempts") + 1
    )
    with transaction.atomic():
        return _send_locked(reminder_id)


def _send_locked(reminder_id: int) -> bool:
    row = (
        ReminderSent.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related(
            "action_item__owner", "action_item__team", "action_item__incident", "recipient"
        )
        .filter(pk=reminder_id, sent_at__isnull=True)
        .first()
    )
    if row is None:
        return False
    item = row.action_item
    if item.is_deleted or item.is_closed:
        row.sent_at = timezone.now()  # nothing to say any more; close the row
        row.save(update_fields=["sent_at"])
        return False
    message = render_reminder(row)
    if message is not None:
        queue_mail(message, dedupe_key=f"reminder:{row.pk}:mail")
    queue_slack(slack_text(row), dedupe_key=f"reminder:{row.pk}:slack")
    row.sent_at = timezone.now()
    row.save(update_fields=["sent_at"])
    return True


@transaction.atomic
def send_digest(*, user_id: int, cutoff: datetime | None = None) -> int:
    """One email with every unsent reminder of this user recorded before the cutoff."""
    qs = ReminderSent.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        recipient_id=user_id, sent_at__isnull=True
    )
    if cutoff is not None:
        qs = qs.filter(created_at__lt=cutoff)
    rows = list(
        qs.select_related(
            "action_item__owner", "action_item__team", "action_item__incident", "recipient"
        ).order_by("action_item__due_on", "pk")
    )
    if not rows:
        return 0
    recipient = rows[0].recipient
    ReminderSent.objects.filter(pk__in=[r.pk for r in rows]).update(attempts=rows[0].attempts + 1)
    live = [r for r in rows if not r.action_item.is_deleted and not r.action_item.is_closed]
    if live and recipient is not None and recipient.email and recipient.is_active:
        entries = [reminder_context(r) for r in live]
        ctx = {
            "recipient": recipient,
            "entries": entries,
            "list_url": absolute_url("/actions/"),
            "preferences_url": absolute_url("/me/"),
        }
        message = templated_email(
            subject=f"Your action items today: {len(live)} need attention",
            template="postmortems/email/action_digest",
            context=ctx,
            to=[recipient.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
        # The rows are locked and marked sent in this transaction, so the same set is never
        # digested twice; the key names that set.
        pks = [r.pk for r in rows]
        queue_mail(message, dedupe_key=f"digest:{user_id}:{min(pks)}-{max(pks)}:{len(pks)}")
        for row in live:
            queue_slack(slack_text(row), dedupe_key=f"reminder:{row.pk}:slack")
    ReminderSent.objects.filter(pk__in=[r.pk for r in rows]).update(sent_at=timezone.now())
    return len(live)


def pending_digest_users() -> list[int]:
    return sorted(
        set(
            ReminderSent.objects.filter(
                sent_at__isnull=True, recipient__profile__daily_digest=True
            ).values_list("recipient_id", flat=True)
        )
    )


def unsent_rows(*, exclude_digest: bool = True) -> list[int]:
    qs = ReminderSent.objects.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
    if exclude_digest:
        qs = qs.exclude(Q(recipient__profile__daily_digest=True))
    return list(qs.order_by("pk").values_list("pk", flat=True))
