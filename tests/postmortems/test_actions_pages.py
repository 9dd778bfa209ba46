"""Pages: list (filters, buckets, CSV), detail transitions, create, manager view, home, incident
section, iCal feed. Query counts constant in the number of items."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems.models import ActionItem
from postmortems.services.accounts import get_feed_token
from tests.factories import ActionItemFactory, IncidentFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _today():
    return timezone.localdate()


def test_the_list_shows_my_open_items_by_default(user, client_for):
    mine = ActionItemFactory(owner=user, title="Mine to do")
    ActionItemFactory(title="Someone else's")
    ActionItemFactory(owner=user, status="done", title="Mine and done")
    page = client_for(user).get("/actions/").content.decode()
    assert "Mine to do" in page
    assert "Someone else&#x27;s" not in page and "Someone else's" not in page
    assert "Mine and done" not in page
    assert mine.get_absolute_url() in page


def test_aging_buckets_count_and_filter(user, client_for):
    today = _today()
    for days, title in [(-2, "late2"), (-8, "late8"), (-20, "late20"), (0, "today")]:
        ActionItemFactory(owner=user, title=title, due_on=today + timedelta(days=days))
    client = client_for(user)
    response = client.get("/actions/")
    counts = {b["key"]: b["count"] for b in response.context["buckets"]}
    assert counts == {"this_week": 1, "overdue_lt7": 1, "overdue_7_14": 1, "overdue_gt14": 1}
    page = client.get("/actions/?bucket=overdue_gt14").content.decode()
    assert "late20" in page and "late8" not in page


def test_csv_export_follows_the_current_filter(user, client_for):
    team = TeamFactory(slug="ops")
    due = _today() - timedelta(days=3)
    ActionItemFactory(owner=user, team=team, title="Alert, with comma", due_on=due, priority="p1")
    ActionItemFactory(owner=user, team=team, title="Closed one", status="done")
    ActionItemFactory(owner=user, title="Other team")
    response = client_for(user).get("/actions/?team=ops&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0][:4] == ["id", "title", "status", "priority"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["title"] == "Alert, with comma"
    assert (row["status"], row["priority"], row["team"], row["due_on"], row["days_overdue"]) == (
        "open",
        "p1",
        "ops",
        due.isoformat(),
        "3",
    )
    assert row["owner"] == user.username
    assert row["url"].endswith(f"/actions/{rows[1][0]}/")


def test_closing_through_the_page_needs_a_verification_note(user, client_for):
    item = ActionItemFactory(owner=user)
    client = client_for(user)
    bad = client.post(f"/actions/{item.pk}/complete/", {"verification_note": ""})
    assert bad.status_code == 400
    assert "verification" in bad.content.decode().lower()
    ok = client.post(f"/actions/{item.pk}/complete/", {"verification_note": "Drill passed"})
    assert ok.status_code == 302
    item.refresh_from_db()
    assert item.status == "done" and item.closed_by == user
    history = client.get(f"/actions/{item.pk}/history/").content.decode()
    assert "Done" in history


def test_an_illegal_move_shows_a_message_not_a_500(user, client_for):
    item = ActionItemFactory(owner=user, status="done")
    response = client_for(user).post(f"/actions/{item.pk}/start/", follow=True)
    assert response.status_code == 200
    assert "cannot be started" in response.content.decode()


def test_items_can_be_created_on_their_own(user, team, client_for):
    response = client_for(user).post(
        "/actions/new/",
        {
            "title": "Write the runbook",
            "owner": user.pk,
            "team": team.pk,
            "priority": "p3",
            "type": "process",
        },
    )
    item = ActionItem.objects.get(title="Write the runbook")
    assert response.status_code == 302 and item.incident is None and item.team == team


def test_creating_for_an_incident_the_user_cannot_see_is_refused(user, team, client_for):
    hidden = IncidentFactory(restricted=True)
    response = client_for(user).post(
        "/actions/new/",
        {
            "title": "x",
            "owner": user.pk,
            "team": team.pk,
            "priority": "p3",
            "type": "process",
            "incident": hidden.pk,
        },
    )
    assert response.status_code == 200
    assert not ActionItem.objects.filter(title="x").exists()


def test_a_manager_bulk_reassigns_their_teams_items(client_for):
    manager = UserFactory()
    team = TeamFactory(manager=manager)
    items = [ActionItemFactory(team=team) for _ in range(3)]
    target = UserFactory()
    response = client_for(manager).post(
        "/actions/reassign/",
        {"items": [i.pk for i in items], "owner": target.pk, "next": "/actions/"},
    )
    assert response.status_code == 302
    assert ActionItem.objects.filter(owner=target).count() == 3


def test_a_non_manager_cannot_bulk_reassign(user, client_for):
    item = ActionItemFactory()
    client_for(user).post("/actions/reassign/", {"items": [item.pk], "owner": user.pk})
    item.refresh_from_db()
    assert item.owner != user


def _team_with_items(n: int):
    manager = UserFactory()
    team = TeamFactory(manager=manager)
    today = _today()
    for i in range(n):
        ActionItemFactory(
            team=team,
            owner=UserFactory(),
            due_on=today - timedelta(days=i % 20),
            status=["open", "in_progress", "done"][i % 3],
            closed_by=UserFactory() if i % 3 == 2 else None,
            incident=IncidentFactory() if i % 10 == 0 else None,
        )
    return manager, team


def test_manager_view_shows_rates_ages_and_overdue_owners(client_for):
    manager, team = _team_with_items(6)
    response = client_for(manager).get(f"/actions/teams/{team.slug}/")
    d = response.context["d"]
    assert d["open_count"] == 4
    assert all(item.owner for item in d["overdue"])
    html = response.content.decode()
    assert "<svg" in html and "Median age" in html and "Overdue items" in html


@pytest.mark.parametrize(
    "path",
    [
        "/actions/?scope=all",
        "/actions/?scope=all&status=any&format=csv",
        "/actions/teams/{slug}/",
        "/",
        "/api/action-items/?status=any",
    ],
)
def test_dashboard_query_counts_are_constant_in_the_number_of_items(
    path, client_for, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (1, 50):
        manager, team = _team_with_items(n)
        ActionItem.objects.filter(team=team).update(owner=manager)
        client = client_for(manager)
        url = path.format(slug=team.slug)
        client.get(url)  # warm caches (session, content types)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
            assert response.status_code == 200
            if response.streaming:
                b"".join(response.streaming_content)
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_home_panel_lists_my_items_due_soonest_first_with_overdue_marked(user, client_for):
    today = _today()
    ActionItemFactory(owner=user, title="Later", due_on=today + timedelta(days=9))
    ActionItemFactory(owner=user, title="Late one", due_on=today - timedelta(days=2))
    html = client_for(user).get("/").content.decode()
    assert "My action items" in html
    assert html.index("Late one") < html.index("Later")
    assert "2d overdue" in html


def test_incident_section_summarises_progress(incident, user, client_for):
    ActionItemFactory(incident=incident, status="done", estimated_hours=2)
    ActionItemFactory(incident=incident, estimated_hours=3)
    ActionItemFactory(incident=incident, status="wont_do")
    html = client_for(user).get(incident.get_absolute_url()).content.decode()
    assert "1 of 3 done" in html and "1 won" in html
    assert "2.0 of 5.0 h estimated effort done" in html


def test_the_ical_feed_lists_my_open_items_as_all_day_events(user, client):
    due = _today() + timedelta(days=3)
    ActionItemFactory(owner=user, title="Rotate keys; then, test\\them", due_on=due)
    ActionItemFactory(owner=user, title="Already done", status="done", due_on=due)
    ActionItemFactory(owner=user, title="No date", due_on=None)
    token = get_feed_token(user=user).token
    response = client.get(f"/feeds/{token}/actions.ics")  # no sign-in: the token is the key
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert body.count("BEGIN:VEVENT") == 1
    assert f"DTSTART;VALUE=DATE:{due:%Y%m%d}" in body
    assert "SUMMARY:Due: Rotate keys\\; then\\, test\\\\them" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    assert client.get("/feeds/wrong-token/actions.ics").status_code == 404


def test_ical_lines_fold_at_75_octets_without_breaking_characters():
    from postmortems.ical import fold

    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


def test_the_edit_page_saves_through_the_service_and_the_history_shows_who(user, client_for):
    item = ActionItemFactory(owner=user, title="Old title")
    client = client_for(user)
    assert client.get(f"/actions/{item.pk}/edit/").status_code == 200
    response = client.post(
        f"/actions/{item.pk}/edit/",
        {
            "title": "New title",
            "owner": user.pk,
            "team": item.team.pk,
            "priority": "p1",
            "type": "detect",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.priority, item.type) == ("New title", "p1", "detect")
    history = client.get(f"/actions/{item.pk}/history/").content.decode()
    assert "Edited" in history and "New title" in history


def test_flagged_items_are_listed_for_the_weekly_review(user):
    from postmortems.selectors.actions import flagged_for_review
    from postmortems.services.reminders import scan_reminders

    late = ActionItemFactory(due_on=_today() - timedelta(days=15))
    ActionItemFactory(due_on=_today() - timedelta(days=8))
    scan_reminders(enqueue=False)
    assert list(flagged_for_review(user)) == [late]
