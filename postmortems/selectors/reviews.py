"""Reads of the weekly review: the snapshot of a week's figures, its summary lines, the
published reviews and the home page's panel.

The snapshot is JSON-ready data computed for all staff: lists hold the incidents of
`Incident.objects.visible_to_all_staff()` (public ones), counts and durations include every
incident as numbers. Templates (postmortems/reviews/_sections.html) render it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import Http404
from django.utils import timezone

from .. import reviews_metrics as rm
from ..models import Incident, WeeklyReview
from .weekly import (
    Figures,
    business_section,
    dora_section,
    durations_section,
    immune_section,
    incidents_section,
    trend_charts,
    week_bounds,
)
from .weekly_followup import (
    actions_section,
    experiments_section,
    fixes_section,
    past_years_section,
)


def compute_weekly_review(iso_week: str) -> Figures:
    """Every figure of the week as JSON-ready data, as all staff may read it (the snapshot is
    read by everyone)."""
    visible = Incident.objects.visible_to_all_staff()
    monday, start, end = week_bounds(iso_week)
    durations = durations_section(start, end)
    dora = dora_section(start, end, durations["mttr"])
    data: Figures = {
        "iso_week": rm.iso_week_of(monday),
        "week_start": monday.isoformat(),
        "week_end": (monday + timedelta(days=6)).isoformat(),
        "generated_at": timezone.now().isoformat(),
        "incidents": incidents_section(visible, start, end),
        "durations": durations,
        "dora": dora,
        "immune": immune_section(visible, start, end),
        "business": business_section(start, end),
        "actions": actions_section(visible, start, end),
        "fixes": fixes_section(visible, start, end),
        "experiments": experiments_section(monday),
        "past_years": past_years_section(visible, monday),
        "charts": trend_charts(durations, dora),
    }
    data["summary"] = summary_lines(data)
    return data


def summary_lines(data: Figures) -> list[str]:
    """A few plain sentences: the feed entry, the email's text part, the list page."""
    inc = data["incidents"]
    dora = data["dora"]
    lines = [
        f"{inc['count']} incident{'s' if inc['count'] != 1 else ''}"
        f" ({', '.join(f'{n} {sev}' for sev, n in inc['by_severity'].items() if n) or 'none'}).",
        f"MTTD {data['durations']['mttd_text']}, MTTR {data['durations']['mttr_text']}.",
        f"{dora['deploys']} production deploys ({dora['deploy_frequency']:.1f}/day), "
        + (
            f"change failure rate {dora['change_failure_rate']:.0%}, "
            if dora["change_failure_rate"] is not None
            else "no change failure rate, "
        )
        + f"lead time {dora['lead_time_text']}.",
        f"Action items: {data['actions']['totals']['opened']} opened, "
        f"{data['actions']['totals']['closed']} closed, "
        f"{data['actions']['totals']['overdue']} overdue, "
        f"{data['actions']['totals']['flagged']} flagged at +14 days.",
    ]
    if data["fixes"]["confirmed"] or data["fixes"]["restricted_confirmed"]:
        n = len(data["fixes"]["confirmed"]) + data["fixes"]["restricted_confirmed"]
        lines.append(f"{n} confirmed recurrence{'s' if n != 1 else ''}: fixes that did not work.")
    return lines


def review_list() -> QuerySet[WeeklyReview]:
    return WeeklyReview.objects.filter(published=True).order_by("-week_start")


def get_review(iso_week: str) -> WeeklyReview:
    review = WeeklyReview.objects.filter(iso_week=iso_week.upper(), published=True).first()
    if review is None:
        raise Http404("No review for that week.")
    return review


def latest_review_panel(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any] | None:
    """Home page side panel: the latest weekly review's headline (one query). Only the summary
    lines are read out of the snapshot: a big company's snapshot is megabytes (issue 15)."""
    review = (
        review_list()
        .only("iso_week", "week_start")
        .annotate(summary=KeyTransform("summary", "snapshot"))
        .first()
    )
    if review is None:
        return None
    return {
        "title": "This week's review",
        "template": "postmortems/reviews/_home_panel.html",
        "column": "side",
        "review": review,
    }
