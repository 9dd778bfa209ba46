"""Fixed points of the demo story, shared by every seed step so the data agrees with itself.

The login outage: logins fail because the master database ran out of connections after a new
feature ("recently viewed") shipped slow queries with no caching.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class DemoContext:
    now: datetime
    seed: int = 42
    verbosity: int = 1

    def days_ago(self, days: float, hour: int = 0, minute: int = 0) -> datetime:
        base = (self.now - timedelta(days=days)).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )
        return base


def anchor_now() -> datetime:
    """'Now' for the demo, rounded to the hour so repeated runs agree within an hour."""
    return timezone.now().replace(minute=0, second=0, microsecond=0)


# The business series have one-minute points for these recent days (5-minute ones before): the
# immune system judges 10-minute windows against the window before and the same one a week
# earlier, so the demo turns it on a week after the one-minute points begin. Deploys before that
# have no verdict (judged against the window before only, noise alone fails ~1% of metrics).
MINUTE_POINTS_DAYS = 21
IMMUNE_SYSTEM_DAYS = MINUTE_POINTS_DAYS - 7


def immune_system_since(now: datetime) -> datetime:
    return now - timedelta(days=IMMUNE_SYSTEM_DAYS)


# The sweep judges a due watch within its minute: the demo's verdicts come this long after due.
SWEEP_DELAY = timedelta(seconds=30)


def verdict_at(finished_at: datetime) -> datetime:
    """When the immune system decides a deploy that finished at `finished_at`."""
    return finished_at + timedelta(seconds=settings.DEPLOY_WATCH_SECONDS) + SWEEP_DELAY


def login_outage_window(now: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """(started, detected, mitigated, resolved) of the login outage: 12 days ago, 14:05 UTC.

    The culprit's deploy finishes at the start; the immune system's verdict detects it (one
    watch window later), before the first alert (`login_alerts_at`)."""
    start = (now - timedelta(days=12)).replace(hour=14, minute=5, second=0, microsecond=0)
    return (
        start,
        verdict_at(start),
        start + timedelta(minutes=52),
        start + timedelta(hours=2, minutes=10),
    )


def login_alerts_at(start: datetime) -> tuple[datetime, datetime]:
    """(db-master's connections alert, the login error-rate alert): both have a `for:` clause
    and fire after the immune system's verdict."""
    detected = verdict_at(start)
    return detected + timedelta(minutes=1), detected + timedelta(minutes=2)


def marginal_deploy_at(now: datetime) -> datetime:
    """The demo's marginal deploy (checkout): the day before the outage, 11:20 UTC."""
    return (now - timedelta(days=13)).replace(hour=11, minute=20, second=0, microsecond=0)


LOGIN_OUTAGE_TITLE = "Logins failing: master database out of connections"
LOGIN_SERVICE = "accounts"
CULPRIT_SERVICE = "profile-web"
CULPRIT_REPOSITORY = "acme/profile-web"
CULPRIT_VERSION = "v2.41.0"

# What the login outage did to the business metrics (start → mitigation), and the retry bump
# right after the fix. The seeded points apply these factors; the Impact section measures them.
LOGIN_OUTAGE_DIP = {"logins": 0.35, "revenue": 0.18, "registrations": 0.25}
LOGIN_OUTAGE_RECOVERY_BUMP = 0.12  # logins +12% for 20 minutes after mitigation
# The marginal deploy: revenue (watched, not critical) dips for a quarter of an hour after it.
MARGINAL_SERVICE = "checkout"
MARGINAL_DIP = {"revenue": 0.15}
MARGINAL_DIP_MINUTES = 15
# No other deploy this close to the marginal one (theirs would see the dip too).
MARGINAL_QUIET = timedelta(minutes=12)
LOGIN_ALERT = "LoginErrorRate"
DB_ALERT = "PostgresTooManyConnections"
