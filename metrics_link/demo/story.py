"""Fixed points of the demo story, shared by every seed step so the data agrees with itself.

The login outage: logins fail because the master database ran out of connections after a new
feature ("recently viewed") shipped slow queries with no caching.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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


def login_outage_window(now: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """(started, detected, mitigated, resolved) of the login outage: 12 days ago, 14:05 UTC."""
    start = (now - timedelta(days=12)).replace(hour=14, minute=5, second=0, microsecond=0)
    return (
        start,
        start + timedelta(minutes=4),
        start + timedelta(minutes=52),
        start + timedelta(hours=2, minutes=10),
    )


LOGIN_OUTAGE_TITLE = "Logins failing: master database out of connections"
LOGIN_SERVICE = "accounts"
CULPRIT_SERVICE = "profile-web"
CULPRIT_REPOSITORY = "acme/profile-web"
CULPRIT_VERSION = "v2.41.0"

# What the login outage did to the business metrics (start → mitigation), and the retry bump
# right after the fix. The seeded points apply these factors; the Impact section measures them.
LOGIN_OUTAGE_DIP = {"logins": 0.35, "revenue": 0.18, "registrations": 0.25}
LOGIN_OUTAGE_RECOVERY_BUMP = 0.12  # logins +12% for 20 minutes after mitigation
LOGIN_ALERT = "LoginErrorRate"
DB_ALERT = "PostgresTooManyConnections"
