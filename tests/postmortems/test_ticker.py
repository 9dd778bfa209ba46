"""The embedded run's in-process beat: which entries are due, with a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from celery.schedules import crontab

from postmortems.ticker import BeatTicker

CALLS: list[str] = []


def record_task(label: str = "ran") -> str:
    CALLS.append(label)
    return label


def broken_task() -> None:
    raise RuntimeError("boom")


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


SUNDAY_EVENING = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)


def test_an_interval_entry_is_due_once_per_period_from_the_start():
    clock = Clock(SUNDAY_EVENING)
    ticker = BeatTicker({"sweep": {"task": "t", "schedule": 60.0}}, clock=clock)
    seen = []
    for _ in range(8):  # 30 s ticks for four minutes
        clock.advance(seconds=30)
        seen.append(ticker.due())
    assert seen == [[], ["sweep"], [], ["sweep"], [], ["sweep"], [], ["sweep"]]


def test_a_crontab_entry_is_due_at_its_time_and_not_again_until_the_next():
    clock = Clock(SUNDAY_EVENING)
    weekly = crontab(minute=0, hour=6, day_of_week="mon")
    ticker = BeatTicker({"review": {"task": "t", "schedule": weekly}}, clock=clock)
    clock.advance(hours=6, minutes=59)  # Monday 05:59
    assert ticker.due() == []
    clock.advance(seconds=90)  # Monday 06:00:30
    assert ticker.due() == ["review"]
    clock.advance(seconds=30)
    assert ticker.due() == []
    clock.advance(days=6, hours=23)  # Monday after, 05:00:30
    assert ticker.due() == []
    clock.advance(hours=1)
    assert ticker.due() == ["review"]


def test_a_timedelta_interval_and_several_entries_are_due_independently():
    clock = Clock(SUNDAY_EVENING)
    ticker = BeatTicker(
        {
            "fast": {"task": "t", "schedule": timedelta(minutes=1)},
            "slow": {"task": "t", "schedule": 300.0},
        },
        clock=clock,
    )
    clock.advance(minutes=1)
    assert ticker.due() == ["fast"]
    clock.advance(minutes=4)
    assert ticker.due() == ["fast", "slow"]


@pytest.mark.django_db
def test_due_tasks_run_in_process_and_a_failing_one_does_not_stop_the_others(caplog):
    CALLS.clear()
    clock = Clock(SUNDAY_EVENING)
    ticker = BeatTicker(
        {
            "broken": {"task": f"{__name__}.broken_task", "schedule": 60.0},
            "works": {"task": f"{__name__}.record_task", "schedule": 60.0, "args": ("hello",)},
        },
        clock=clock,
    )
    clock.advance(minutes=1)
    assert ticker.run_due() == ["broken", "works"]
    assert CALLS == ["hello"]
    assert "broken failed" in caplog.text
    clock.advance(minutes=1)
    ticker.run_due()
    assert CALLS == ["hello", "hello"]  # the ticker kept going


@pytest.mark.django_db
def test_the_projects_schedule_loads_and_names_real_tasks(settings):
    from django.utils.module_loading import import_string

    ticker = BeatTicker(settings.CELERY_BEAT_SCHEDULE)
    assert {"sweep-pending", "send-reminders", "build-weekly-review"} <= set(ticker.entries)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert callable(import_string(entry["task"]))
