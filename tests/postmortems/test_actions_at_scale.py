"""The action-item pages at a company's size (issue 15): the team dashboard's overdue list is
bounded (with its exact total, its owners counted over all of it, and a link to the rest), its
weekly numbers come from aggregates that match the per-item rule, the home panel's count is capped,
and `GET /api/action-items/` counts at most a cap."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from postmortems.api.actions import ActionItemPagination
from postmortems.models import ActionItem
from postmortems.selectors import actions as selectors
from tests.factories import ActionItemFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _weeks_by_the_item(team, today, weeks=12):
    """The weekly numbers computed item by item (the rule the aggregates must match)."""
    tz = timezone.get_current_timezone()
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    horizon = datetime.combine(first - timedelta(days=180), time.min, tzinfo=tz)
    starts = [first + timedelta(weeks=i) for i in range(weeks)]
    opened, closed, open_at_end = [0] * weeks, [0] * weeks, [0] * weeks
    for item in ActionItem.objects.alive().filter(team=team):
        if not (
            item.status in selectors.OPEN_STATUSES
            or (item.closed_at and item.closed_at >= horizon)
            or item.created_at >= horizon
        ):
            continue
        created = timezone.localtime(item.created_at, tz).date()
        done = timezone.localtime(item.closed_at, tz).date() if item.closed_at else None
        for i, start in enumerate(starts):
            end = start + timedelta(days=6)
            opened[i] += start <= created <= end
            closed[i] += bool(done and start <= done <= end)
            open_at_end[i] += created <= end and (done is None or done > end)
    return starts, opened, closed, open_at_end


def test_weekly_numbers_match_the_item_by_item_rule():
    rng = random.Random(15)
    team = TeamFactory()
    now = timezone.now()
    for _ in range(60):
        item = ActionItemFactory(team=team, status=rng.choice(["open", "in_progress", "done"]))
        created = now - timedelta(days=rng.randint(0, 300), hours=rng.randint(0, 23))
        closed = None
        if item.status == "done" or rng.random() < 0.1:  # a reopened item keeps its closed_at
            closed = created + timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
        ActionItem.objects.filter(pk=item.pk).update(created_at=created, closed_at=closed)
    today = timezone.localdate()
    d = selectors.team_dashboard(team, UserFactory(is_superuser=True), today=today)
    starts, opened, closed, open_at_end = _weeks_by_the_item(team, today)
    assert d["weeks"] == starts
    assert (d["opened"], d["closed"], d["open_at_end"]) == (opened, closed, open_at_end)
    assert sum(opened) and sum(closed) and sum(open_at_end)


def test_closure_rate_counts_the_cohort_done_within_30_days():
    team = TeamFactory()
    now = timezone.now()
    for created_days_ago, closed_after in [(40, 10), (60, 45), (100, None), (300, 1)]:
        item = ActionItemFactory(team=team, status="done" if closed_after else "open")
        created = now - timedelta(days=created_days_ago)
        closed = created + timedelta(days=closed_after) if closed_after else None
        ActionItem.objects.filter(pk=item.pk).update(created_at=created, closed_at=closed)
    d = selectors.team_dashboard(team, UserFactory(is_superuser=True))
    assert d["cohort_size"] == 3  # created 30 to 210 days ago
    assert d["closure_rate"] == 33


def test_the_overdue_list_is_bounded_with_its_total_owners_and_a_link(client_for, monkeypatch):
    monkeypatch.setattr(selectors, "OVERDUE_SHOWN", 4)
    manager = UserFactory()
    team = TeamFactory(manager=manager)
    ann, bob = (
        UserFactory(first_name="Ann", last_name="A"),
        UserFactory(first_name="Bob", last_name="B"),
    )
    today = timezone.localdate()
    for i in range(7):
        ActionItemFactory(
            team=team, owner=ann if i < 5 else bob, due_on=today - timedelta(days=i + 1)
        )
    ActionItemFactory(team=team, owner=bob, due_on=today + timedelta(days=3))  # not overdue
    response = client_for(manager).get(f"/actions/teams/{team.slug}/")
    d = response.context["d"]
    assert [i.due_on for i in d["overdue"]] == [today - timedelta(days=n) for n in (7, 6, 5, 4)]
    assert d["overdue_total"] == d["overdue_count"] == 7
    assert d["overdue_by_owner"] == [("Ann A", 5), ("Bob B", 2)]
    html = response.content.decode()
    assert f"?scope=all&team={team.slug}&overdue=on" in html and "see all 7" in html
    listed = client_for(manager).get(f"/actions/?scope=all&team={team.slug}&overdue=on")
    assert listed.context["page_obj"].paginator.count == 7


def test_a_short_overdue_list_has_no_link():
    team = TeamFactory()
    ActionItemFactory(team=team, due_on=timezone.localdate() - timedelta(days=2))
    d = selectors.team_dashboard(team, team.manager or UserFactory(is_superuser=True))
    assert d["overdue_total"] == len(d["overdue"]) == 1


def test_the_home_panel_count_is_capped(user, client_for, monkeypatch):
    monkeypatch.setattr(selectors, "PANEL_COUNT_CAP", 3)
    ActionItemFactory.create_batch(3, owner=user)
    panel = selectors.my_actions_panel(user)
    assert (panel["total"], panel["total_capped"]) == (3, False)
    ActionItemFactory(owner=user)
    panel = selectors.my_actions_panel(user)
    assert (panel["total"], panel["total_capped"]) == (3, True)
    assert "All 3+ →" in client_for(user).get("/").content.decode()


def test_the_action_items_api_count_is_capped(api_client_for, monkeypatch):
    monkeypatch.setattr(ActionItemPagination, "count_cap", 55)
    user = UserFactory()
    ActionItemFactory.create_batch(52, owner=user)
    api = api_client_for(user)
    body = api.get("/api/action-items/", {"status": "any"}).json()
    assert body["count"] == 52 and "count_capped" not in body
    ActionItemFactory.create_batch(5, owner=user)
    body = api.get("/api/action-items/", {"status": "any"}).json()
    assert (body["count"], body["count_capped"], len(body["results"])) == (55, True, 50)
    assert len(api.get("/api/action-items/", {"status": "any", "page": "2"}).json()["results"])
    beyond = api.get("/api/action-items/", {"status": "any", "page": "3"})
    assert beyond.status_code == 404 and "cursor" in beyond.json()["detail"]
    walked = api.get("/api/action-items/", {"status": "any", "cursor": ""}).json()
    assert "count" not in walked and len(walked["results"]) == 50
