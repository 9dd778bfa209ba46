"""`python manage.py build_weekly_review [--week 2026-W48] [--rebuild] [--no-publish]`.

Idempotent: an existing week keeps its first snapshot (what readers and the mail saw) unless
--rebuild is given. Default week: the last complete ISO week."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ...services.reviews import build_weekly_review, default_week


class Command(BaseCommand):
    help = "Build (and publish + mail) the weekly business review of an ISO week."

    def add_arguments(self, parser):
        parser.add_argument("--week", help="ISO week like 2026-W48 (default: last week).")
        parser.add_argument(
            "--rebuild", action="store_true", help="Recompute an existing week's snapshot."
        )
        parser.add_argument(
            "--no-publish", action="store_true", help="Build without publishing or mailing."
        )

    def handle(self, *args, **options):
        week = options["week"] or default_week()
        self.stdout.write(f"Building the weekly review {week}…", ending="")
        self.stdout.flush()
        started = time.monotonic()
        try:
            review, built = build_weekly_review(
                week=week, rebuild=options["rebuild"], publish=not options["no_publish"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        took = time.monotonic() - started
        if built:
            s = review.snapshot
            self.stdout.write(f" done in {took:.1f}s.")
            for line in s.get("summary", []):
                self.stdout.write(f"  {line}")
            state = "published; mail to all staff queued" if review.published else "not published"
            self.stdout.write(self.style.SUCCESS(f"{review.iso_week}: {state}."))
        else:
            self.stdout.write(
                f" already built on {review.generated_at:%Y-%m-%d %H:%M} (use --rebuild to refresh)."
            )
