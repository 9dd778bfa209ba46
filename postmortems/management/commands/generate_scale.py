"""`python manage.py generate_scale`: a company's worth of history for measuring (issue 15).

Defaults are the full size (100k incidents, 1M deploys, 3M commits, …); `--scale 0.01` for a
small run; each size can be set on its own. Writes with PostgreSQL COPY into an empty, migrated
database. Refuses SQLite unless `--allow-sqlite` (tiny sizes only) and DEBUG-off unless `--force`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ...scale.generate import DEFAULT_SIZES, Refused, generate, scaled_sizes

SQLITE_MAX_INCIDENTS = 2_000


class Command(BaseCommand):
    help = "Generate a company-sized dataset (defaults: 100k incidents, 1M deploys, 3M commits…)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=float, default=1.0, help="Multiply every default size (e.g. 0.01)."
        )
        for key, value in DEFAULT_SIZES.items():
            parser.add_argument(
                f"--{key.replace('_', '-')}", type=int, default=None, help=f"Default {value:,}."
            )
        parser.add_argument("--seed", type=int, default=15, help="Same seed, same data.")
        parser.add_argument(
            "--anchor",
            default=None,
            help="The data's 'now', ISO (default: this hour). With --seed, fully reproducible.",
        )
        parser.add_argument("--years", type=float, default=3.0, help="History length (3).")
        parser.add_argument(
            "--password", default="scale", help="Every generated user's password (scale)."
        )
        parser.add_argument(
            "--reviews", type=int, default=1, help="Weekly reviews to build at the end (1)."
        )
        parser.add_argument("--allow-sqlite", action="store_true", help="Tiny sizes on SQLite.")
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, **opts):
        if not settings.DEBUG and not opts["force"]:
            raise CommandError(
                "generate_scale writes thousands of users with one known password; refusing "
                "with DEBUG off (production?). Use --force on a measuring database."
            )
        sizes = scaled_sizes(opts["scale"], **{k: opts[k] for k in DEFAULT_SIZES})
        if connection.vendor != "postgresql":
            if not opts["allow_sqlite"]:
                raise CommandError(
                    "generate_scale targets PostgreSQL (COPY); set DATABASE_URL. "
                    "For a tiny run on SQLite, pass --allow-sqlite."
                )
            if sizes["incidents"] > SQLITE_MAX_INCIDENTS:
                raise CommandError(
                    f"SQLite only for tiny sizes (at most {SQLITE_MAX_INCIDENTS:,} incidents); "
                    "use --scale 0.01 or PostgreSQL."
                )
        anchor = None
        if opts["anchor"]:
            try:
                anchor = datetime.fromisoformat(opts["anchor"])
            except ValueError:
                raise CommandError(f"--anchor: not an ISO date/time: {opts['anchor']!r}") from None
            anchor = anchor if anchor.tzinfo else anchor.replace(tzinfo=UTC)
        self.stdout.write(
            "Sizes: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sizes.items())
        )
        try:
            generate(
                sizes=sizes,
                seed=opts["seed"],
                anchor=anchor,
                years=opts["years"],
                password=opts["password"],
                reviews=opts["reviews"],
                write=lambda line: (self.stdout.write(line), self.stdout.flush()),
                every=2.0 if self.stdout.isatty() else 10.0,
            )
        except Refused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Done. Users sign in with the password {opts['password']!r}.")
        )
