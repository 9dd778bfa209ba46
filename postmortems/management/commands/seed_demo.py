"""`python manage.py seed_demo`: idempotent demo data, one step per feature, with progress.

Never creates the demo login when DEBUG is off unless --force is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from metrics_link.demo import catalog
from metrics_link.demo.story import DemoContext, anchor_now

from ...demo import actions, alerts, deploys, documents, immune, incidents, reviews, whys

# (name, run(ctx, progress)). Features append their steps in order; each step is idempotent.
STEPS: list[tuple[str, Callable]] = [
    ("catalog", catalog.run),
    ("incidents", incidents.run),
    ("deploys", deploys.run),
    ("alerts & metrics", alerts.run),
    ("verdicts", immune.run),
    ("whys", whys.run),
    ("actions", actions.run),
    ("postmortems", documents.run),
    ("retros & reviews", reviews.run),
]


class Command(BaseCommand):
    help = "Load demo data: users (login demo/demo), teams, services, incidents, deploys, whys, actions…"

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even when DEBUG is off.")
        parser.add_argument("--only", nargs="*", help="Run only these steps.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates a known login (demo/demo); refusing with DEBUG off. Use --force."
            )
        ctx = DemoContext(now=anchor_now(), verbosity=options["verbosity"])
        steps = [s for s in STEPS if not options["only"] or s[0] in options["only"]]
        total_start = time.monotonic()
        for index, (name, run) in enumerate(steps, 1):
            started = time.monotonic()
            self.stdout.write(f"[{index}/{len(steps)}] {name}…", ending="")
            self.stdout.flush()
            notes: list[str] = []
            run(ctx, notes.append)
            took = time.monotonic() - started
            self.stdout.write(f" {'; '.join(notes) or 'done'} ({took:.1f}s)")
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready in {time.monotonic() - total_start:.1f}s.")
        )
