"""`python manage.py demo`: migrate, load the demo data, print the login, serve on :8000.

Without a broker (the embedded run) it also runs the beat schedule in-process (postmortems/
ticker.py): reminders, the pending sweep and the weekly review happen here as in production.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ...ticker import TICK_SECONDS, start_ticker


class Command(BaseCommand):
    help = "Run the product on the embedded default: migrate, seed demo data, print a login, serve."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare only; do not start the server."
        )
        parser.add_argument(
            "--no-beat",
            action="store_true",
            help="Do not run the periodic jobs (CELERY_BEAT_SCHEDULE) in-process.",
        )

    def handle(self, *args, **opts):
        if not settings.DEBUG:
            raise CommandError(
                "`demo` is for the embedded run (DEBUG on). In production use migrate + gunicorn."
            )
        self.stdout.write("Migrating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Loading demo data…")
        call_command("seed_demo", stdout=self.stdout._out)
        host = opts["addrport"] if ":" in opts["addrport"] else f"127.0.0.1:{opts['addrport']}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Open http://{host}/  and sign in as  demo / demo\n"
                "  (other demo users: alice, bob, maria, priya… all with password demo)\n"
            )
        )
        if opts["no_serve"]:
            return
        if settings.CELERY_TASK_ALWAYS_EAGER and not opts["no_beat"]:
            start_ticker(settings.CELERY_BEAT_SCHEDULE)
            names = ", ".join(settings.CELERY_BEAT_SCHEDULE)
            self.stdout.write(
                f"  Periodic jobs run in-process every {TICK_SECONDS:.0f} s: {names}\n"
            )
        call_command("runserver", opts["addrport"], use_reloader=False)
