"""The embedded run's beat: run CELERY_BEAT_SCHEDULE in-process (no broker, no `celery beat`).

`manage.py demo` starts a daemon thread that every ~30 s asks `BeatTicker.due()` which entries
are due and calls their task functions in this process, so reminders, the sweep and the weekly
review happen there as in production. Semantics follow Celery beat: an entry is first due one
period after the ticker starts (an interval) or at its next crontab time; a task that raises is
logged and the ticker keeps going.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from celery.schedules import BaseSchedule, schedule
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

from postmortems.config import celery_app

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0


def _as_schedule(value, clock: Callable[[], datetime]) -> BaseSchedule:
    """A Celery schedule object reading `clock` for "now" (intervals may be given as seconds)."""
    if isinstance(value, int | float):
        value = schedule(run_every=timedelta(seconds=value))
    elif isinstance(value, timedelta):
        value = schedule(run_every=value)
    value = copy.copy(value)
    value.nowfun = clock
    return value


class BeatTicker:
    def __init__(self, beat_schedule: dict[str, dict], *, clock=timezone.now, app=None):
        self.clock = clock
        self.entries = {}
        for name, entry in beat_schedule.items():
            sched = _as_schedule(entry["schedule"], clock)
            sched.app = app or celery_app
            self.entries[name] = {**entry, "schedule": sched}
        started = clock()
        self.last_run: dict[str, datetime] = dict.fromkeys(self.entries, started)

    def due(self) -> list[str]:
        """The names of the entries due now (and marks them run: call each once)."""
        now = self.clock()
        names = []
        for name, entry in self.entries.items():
            is_due, _next = entry["schedule"].is_due(self.last_run[name])
            if is_due:
                self.last_run[name] = now
                names.append(name)
        return names

    def run_due(self) -> list[str]:
        names = self.due()
        for name in names:
            entry = self.entries[name]
            try:
                # Task names are their import paths (postmortems.tasks.…, metrics_link.tasks.…).
                task = import_string(entry["task"])
                result = task(*entry.get("args", ()), **entry.get("kwargs", {}))
                log.info("beat (in-process) %s: %s", name, result)
            except Exception:
                log.exception("beat (in-process) %s failed; the ticker keeps going", name)
            finally:
                close_old_connections()
        return names


def start_ticker(beat_schedule: dict[str, dict], *, every: float = TICK_SECONDS):
    """Start the daemon thread; returns (thread, stop_event)."""
    ticker = BeatTicker(beat_schedule)
    stop = threading.Event()

    def loop():
        while not stop.wait(every):
            try:
                ticker.run_due()
            except Exception:  # never let the thread die: the next tick tries again
                log.exception("beat (in-process) tick failed")

    thread = threading.Thread(target=loop, name="beat-ticker", daemon=True)
    thread.start()
    return thread, stop
