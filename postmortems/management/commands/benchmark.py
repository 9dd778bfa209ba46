"""`python manage.py benchmark`: response times of the hot paths, printed as figures.

Runs in-process against the current database (seed it first with `seed_demo`), inside a transaction
that is rolled back, so nothing it writes (webhook deliveries, incidents) survives and no task is
enqueued. Measures server time only (no network): p50 / p95 / max in milliseconds.

`--scale` instead serves the product through gunicorn (2 sync workers, DEBUG off) and measures
the pages of issue 15 against a trivial signed-in floor view, as an employee and a manager
(see postmortems/scale/bench.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import time
import uuid
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client, override_settings

from ...models import Incident
from ...scale import bench


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the hot paths (webhook intake, filing, incident pages, API) and print p50/p95/max."

    def add_arguments(self, parser):
        parser.add_argument(
            "--requests", type=int, default=100, help="Requests per path (default 100)."
        )
        parser.add_argument("--user", default="demo")
        parser.add_argument(
            "--scale",
            action="store_true",
            help="Serve with gunicorn and measure every page against the floor (issue 15).",
        )
        parser.add_argument(
            "--concurrency", type=int, default=4, help="--scale: requests in flight (4)."
        )
        parser.add_argument(
            "--budget", type=float, default=20.0, help="--scale: seconds per page at most (20)."
        )
        parser.add_argument(
            "--no-explain", action="store_true", help="--scale: skip EXPLAIN ANALYZE."
        )
        parser.add_argument(
            "--only", nargs="*", help="--scale: only pages whose label contains one of these."
        )

    def handle(self, *args, **opts):
        if opts["scale"]:
            try:
                bench.run(
                    requests=opts["requests"],
                    concurrency=opts["concurrency"],
                    budget=opts["budget"],
                    explain=not opts["no_explain"],
                    only=opts["only"],
                    write=lambda line: (self.stdout.write(line), self.stdout.flush()),
                )
            except LookupError as exc:
                raise CommandError(str(exc)) from None
            return
        user = get_user_model().objects.filter(username=opts["user"]).first()
        incident = Incident.objects.alive().order_by("pk").first()
        if user is None or incident is None:
            raise CommandError("Load data first: python manage.py seed_demo")
        n = opts["requests"]
        try:
            with (
                transaction.atomic(),
                override_settings(GITHUB_WEBHOOK_SECRET="benchmark", ALLOWED_HOSTS=["*"]),  # noqa: S106 (throwaway)
            ):
                self._run(user, incident, n)
                raise _Rollback
        except _Rollback:
            pass

    def _run(self, user, incident, n: int) -> None:
        client = Client()
        client.force_login(user)
        body = json.dumps(
            {
                "ref": "refs/heads/main",
                "before": "0" * 40,
                "after": "a" * 40,
                "repository": {"full_name": "acme/bench"},
                "commits": [
                    {
                        "id": f"{i:040x}",
                        "message": f"change {i}",
                        "timestamp": "2026-11-26T10:00:00Z",
                        "url": "https://example.com",
                        "author": {"name": "Bench"},
                    }
                    for i in range(20)
                ],
            }
        ).encode()
        signature = "sha256=" + hmac.new(b"benchmark", body, hashlib.sha256).hexdigest()
        paths: list[tuple[str, Callable[[], int]]] = [
            (
                "POST /hooks/github/ (verify + store)",
                lambda: (
                    client.post(
                        "/hooks/github/",
                        body,
                        content_type="application/json",
                        HTTP_X_GITHUB_EVENT="push",
                        HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
                        HTTP_X_HUB_SIGNATURE_256=signature,
                    ).status_code
                ),
            ),
            (
                "POST /api/incidents/ (file an incident)",
                lambda: (
                    client.post(
                        "/api/incidents/",
                        {"title": "Benchmark", "severity": "sev3", "services": ["accounts"]},
                        content_type="application/json",
                    ).status_code
                ),
            ),
            ("GET /incidents/", lambda: client.get("/incidents/").status_code),
            (
                f"GET /incidents/{incident.pk}/ (all sections)",
                lambda: client.get(f"/incidents/{incident.pk}/").status_code,
            ),
            (
                f"GET /api/incidents/{incident.pk}/suspects/",
                lambda: client.get(f"/api/incidents/{incident.pk}/suspects/").status_code,
            ),
            ("GET /api/incidents/", lambda: client.get("/api/incidents/").status_code),
            ("GET /", lambda: client.get("/").status_code),
        ]
        tty = self.stdout.isatty()
        self.stdout.write(f"{n} requests per path, in-process, against {incident} and friends\n")
        for label, call in paths:
            timings = []
            for i in range(n):
                started = time.perf_counter()
                status = call()
                timings.append((time.perf_counter() - started) * 1000)
                if status >= 400:
                    raise CommandError(f"{label} answered {status}")
                if tty and (i + 1) % max(1, n // 4) == 0:
                    self.stdout.write(f"\r  {label}: {i + 1}/{n}", ending="")
                    self.stdout.flush()
            timings.sort()
            p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
            self.stdout.write(
                f"{chr(13) if tty else ''}  {label:<48} p50 {statistics.median(timings):7.1f} ms   p95 {p95:7.1f} ms   max {timings[-1]:7.1f} ms"
            )
        self.stdout.write(self.style.SUCCESS("Done; everything written was rolled back."))
