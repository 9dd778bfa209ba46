"""`python manage.py open_incident --title … --severity sev2 --service web` prints the new incident's URL."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from metrics_link.links import absolute_url

from ...models import Incident
from ...services.incidents import open_incident


class Command(BaseCommand):
    help = "File an incident from the command line; prints its URL."

    def add_arguments(self, parser):
        parser.add_argument("--title", required=True)
        parser.add_argument("--severity", required=True, choices=["sev1", "sev2", "sev3", "sev4"])
        parser.add_argument(
            "--service", action="append", required=True, help="Repeat for several services."
        )
        parser.add_argument("--impact", default="")
        parser.add_argument("--summary", default="")
        parser.add_argument(
            "--started-at", help="ISO 8601, e.g. 2026-11-26T09:30:00Z (default: now)"
        )
        parser.add_argument("--reporter", help="Username of the person filing it.")
        parser.add_argument("--restricted", action="store_true", help="Visible to its people only.")

    def handle(self, *args, **opts):
        reporter = None
        if opts["reporter"]:
            reporter = get_user_model().objects.filter(username=opts["reporter"]).first()
            if reporter is None:
                raise CommandError(f"No user named {opts['reporter']!r}.")
        started_at = None
        if opts["started_at"]:
            started_at = parse_datetime(opts["started_at"])
            if started_at is None or started_at.tzinfo is None:
                raise CommandError(
                    "--started-at must be ISO 8601 with a time zone, e.g. 2026-11-26T09:30:00Z."
                )
        try:
            incident = open_incident(
                title=opts["title"],
                severity=opts["severity"],
                services=opts["service"],
                impact=opts["impact"],
                summary=opts["summary"],
                started_at=started_at,
                reporter=reporter,
                commander=reporter,
                origin=Incident.Origin.CLI,
                visibility=Incident.Visibility.RESTRICTED
                if opts["restricted"]
                else Incident.Visibility.PUBLIC,
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(m for ms in exc.message_dict.values() for m in ms)
                if hasattr(exc, "error_dict")
                else "; ".join(exc.messages)
            ) from exc
        self.stdout.write(absolute_url(incident.get_absolute_url()))
