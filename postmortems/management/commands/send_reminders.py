"""`python manage.py send_reminders`: run the reminder scan once (cron users, the embedded run).

With a broker (CELERY_BROKER_URL set) the sends are enqueued for the workers; without one they
are sent here, synchronously, and the command prints what it did. `--digest` also sends pending
daily digests now instead of waiting for the morning cutoff.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from ...services import reminders


class Command(BaseCommand):
    help = "Record due reminders, escalations and flags of action items, and send them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--digest", action="store_true", help="Send pending daily digests now, too."
        )
        parser.add_argument(
            "--no-send", action="store_true", help="Only record; leave sending to the workers."
        )

    def handle(self, *args, **options):
        inline = settings.CELERY_TASK_ALWAYS_EAGER  # no broker: nobody else will send
        result = reminders.scan_reminders(enqueue=not inline)
        self.stdout.write(f"Scan: {result.summary()}.")
        for row in result.recorded:
            self.stdout.write(
                f"  {row.kind:<9} item #{row.action_item_id} (due {row.period}) → "
                f"{row.recipient.get_username() if row.recipient else 'nobody'}"
            )
        if not inline or options["no_send"]:
            self.stdout.write("Sending is left to the Celery workers.")
            return
        sent = 0
        for pk in reminders.unsent_rows():
            try:
                sent += reminders.send_reminder(reminder_id=pk)
            except Exception as exc:  # report and go on: the next run retries this row
                self.stderr.write(f"  reminder {pk} failed: {exc}")
        self.stdout.write(f"Sent {sent} reminder(s).")
        users = reminders.pending_digest_users() if options["digest"] else result.digests
        cutoff = None if options["digest"] else reminders.digest_cutoff()
        digests = sum(1 for uid in users if reminders.send_digest(user_id=uid, cutoff=cutoff))
        if users:
            self.stdout.write(f"Sent {digests} daily digest(s).")
