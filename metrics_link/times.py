"""The sane range for every time the product accepts from outside (API, CLI, webhooks).

Times before 1970 or more than a day ahead are typing mistakes or zero values (Go's
`0001-01-01T00:00:00Z`); stored, they break every window computed from them (suspects, DORA).
Pure Python: the webhook parsers, the services and the serializers all call `check_time`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_ALLOWANCE = timedelta(days=1)
OUT_OF_RANGE = "{value} is outside the accepted range (1970-01-01 to one day from now)."


def latest() -> datetime:
    return datetime.now(UTC) + FUTURE_ALLOWANCE


def is_sane(value: datetime) -> bool:
    if value.tzinfo is None:  # naive datetimes are UTC here (USE_TZ stores UTC)
        value = value.replace(tzinfo=UTC)
    return EARLIEST <= value <= latest()


def time_error(value: datetime | None, field: str) -> str | None:
    """The message for a time outside the range, or None when it is fine (None is fine)."""
    if value is None or is_sane(value):
        return None
    return f"{field}: " + OUT_OF_RANGE.format(value=value.isoformat())


def shift_time(value: datetime, delta: timedelta) -> datetime:
    """`value + delta`, held at the calendar's ends instead of raising OverflowError.

    New times are checked on the way in, but a row stored before that check (an incident started
    0001-01-01) must still render its page and suspects rather than answer 500 forever.
    """
    try:
        return value + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min  # noqa: DTZ901
        return edge.replace(tzinfo=value.tzinfo)  # the zone is set here
