"""Pages, feed, API and command of the reviews feature, end to end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from postmortems.models import ActionItem, Experiment, RetroItem, Retrospective, RetroVote
from postmortems.permissions import NotAllowed
from postmortems.selectors.weekly import week_bounds
from postmortems.services import reviews as svc
from postmortems.services.accounts import get_feed_token
from postmortems.services.errors import ServiceError
from tests.factories import (
    ExperimentFactory,
    IncidentFactory,
    RetroItemFactory,
    RetrospectiveFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _build(week, incidents):
    _, start, _ = week_bounds(week)
    for i in range(incidents):
        IncidentFactory(started_at=start + timedelta(hours=3 * i + 1), title=f"Outage {week} {i}")
    review, _ = svc.build_weekly_review(week=week, mail=False)
    return review


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_review_page_renders_its_snapshot_in_constant_queries(client_for, user):
    _build("2026-W10", 1)
    _build("2026-W20", 50)
    client = client_for(user)
    client.get("/reviews/2026-W10/")  # warm the session
    small = _queries(client, "/reviews/2026-W10/")
    large = _queries(client, "/reviews/2026-W20/")
    assert small == large
    assert small <= 6
    page = client.get("/reviews/2026-W20/").content.decode()
    assert "Outage 2026-W20 49" in page
    assert "Delivery: the four keys" in page


def test_the_home_page_shows_the_latest_review(client_for, user):
    _build("2026-W10", 3)
    page = client_for(user).get("/").content.decode()
    assert "Weekly review 2026-W10" in page
    assert "3 incidents" in page


def test_the_list_shows_weeks_newest_first(client_for, user):
    _build("2026-W10", 0)
    _build("2026-W11", 0)
    page = client_for(user).get("/reviews/").content.decode()
    assert page.index("2026-W11") < page.index("2026-W10")


@pytest.mark.parametrize("week", ["2026-W09", "garbage", "2026-W99"])
def test_a_missing_or_malformed_week_is_404(client_for, user, week):
    _build("2026-W10", 0)
    assert client_for(user).get(f"/reviews/{week}/").status_code == 404


def test_the_atom_feed_needs_only_its_token(client, user):
    _build("2026-W10", 1)
    token = get_feed_token(user=user).token
    response = client.get(f"/feeds/{token}/reviews.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "Weekly review 2026-W10" in response.content.decode()
    assert client.get("/feeds/not-a-token/reviews.atom").status_code == 404


def test_the_command_builds_last_week_by_default_and_says_so(capsys):
    call_command("build_weekly_review", "--week", "2026-W10", "--no-publish")
    call_command("build_weekly_review", "--week", "2026-W10")
    out = capsys.readouterr().out
    assert "Building the weekly review 2026-W10" in out
    assert "already built" in out


def test_the_command_refuses_a_bad_week():
    with pytest.raises(CommandError, match="ISO week"):
        call_command("build_weekly_review", "--week", "W10")


# --------------------------------------------------------------------------- retros


@pytest.fixture
def retro(team, user):
    return RetrospectiveFactory(team=team, published=False, published_at=None)


def test_a_team_member_creates_a_retro_and_adds_items(client_for, user, team):
    client = client_for(user)
    response = client.post(
        "/retros/new/",
        {
            "team": team.pk,
            "name": "Sprint 48",
            "sprint_start": "2026-11-09",
            "sprint_end": "2026-11-20",
        },
    )
    retro = Retrospective.objects.get()
    assert response.status_code == 302
    assert response["Location"] == retro.get_absolute_url()
    client.post(f"/retros/{retro.pk}/items/", {"column": "stop", "text": "Friday deploys"})
    assert RetroItem.objects.get().column == "stop"


def test_someone_outside_the_team_cannot_write(client_for, retro):
    client = client_for(UserFactory())
    assert client.get(f"/retros/{retro.pk}/").status_code == 404  # a draft of another team
    retro.published = True
    retro.save()
    client.post(f"/retros/{retro.pk}/items/", {"column": "stop", "text": "x"})
    assert not RetroItem.objects.exists()


def test_voting_toggles_with_htmx_and_without_javascript(client_for, user, retro):
    item = RetroItemFactory(retrospective=retro)
    client = client_for(user)
    url = f"/retros/{retro.pk}/items/{item.pk}/vote/"
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    assert "<html" not in response.content.decode()  # just the column
    assert RetroVote.objects.count() == 1
    response = client.post(url)  # no JavaScript: a redirect back
    assert response.status_code == 302
    assert RetroVote.objects.count() == 0


def test_a_retro_action_item_lives_in_the_tracker(client_for, user, retro):
    client = client_for(user)
    client.post(f"/retros/{retro.pk}/actions/", {"title": "Add a query budget", "owner": user.pk})
    item = ActionItem.objects.get()
    assert (item.retrospective, item.team, item.incident) == (retro, retro.team, None)


def test_publishing_needs_an_item_and_then_shows_to_all_staff(client_for, user, retro):
    client = client_for(user)
    client.post(f"/retros/{retro.pk}/publish/")
    retro.refresh_from_db()
    assert not retro.published
    RetroItemFactory(retrospective=retro)
    client.post(f"/retros/{retro.pk}/publish/")
    retro.refresh_from_db()
    assert retro.published
    page = client_for(UserFactory()).get("/retros/").content.decode()
    assert retro.name in page
    assert retro.team.name in page


def test_each_teams_history_is_in_order(client_for, user, team):
    for n, days in enumerate((60, 30, 2)):
        RetrospectiveFactory(
            team=team,
            name=f"Sprint {n}",
            sprint_start=(timezone.localdate() - timedelta(days=days + 11)),
            sprint_end=(timezone.localdate() - timedelta(days=days)),
        )
    page = client_for(user).get("/retros/").content.decode()
    assert page.index("Sprint 2") < page.index("Sprint 1") < page.index("Sprint 0")


def test_retro_services_check_dates_and_membership(user, team):
    with pytest.raises(ServiceError):
        svc.create_retrospective(
            team=team,
            name="S",
            sprint_start=timezone.localdate(),
            sprint_end=timezone.localdate() - timedelta(days=1),
            created_by=user,
        )
    with pytest.raises(NotAllowed, match="members"):
        svc.create_retrospective(
            team=TeamFactory(),
            name="S",
            sprint_start=timezone.localdate(),
            sprint_end=timezone.localdate(),
            created_by=user,
        )


# --------------------------------------------------------------------------- API


def test_api_lists_reviews_and_gives_figures_without_html(api_client_for, user):
    _build("2026-W10", 2)
    api = api_client_for(user)
    listing = api.get("/api/reviews/").json()
    assert listing["results"][0]["iso_week"] == "2026-W10"
    detail = api.get("/api/reviews/2026-W10/").json()
    assert detail["figures"]["incidents"]["count"] == 2
    assert "html" not in detail["figures"]
    assert "charts" not in detail["figures"]["business"]
    assert api.get("/api/reviews/2030-W01/").status_code == 404


def test_api_reads_retros(api_client_for, user, retro):
    RetroItemFactory(retrospective=retro, text="Pair more")
    api = api_client_for(user)
    assert api.get("/api/retros/").json()["results"][0]["id"] == retro.pk
    detail = api.get(f"/api/retros/{retro.pk}/").json()
    assert detail["items"][0]["text"] == "Pair more"
    assert api_client_for(UserFactory()).get(f"/api/retros/{retro.pk}/").status_code == 404


def test_api_records_experiments_and_their_counts(api_client_for, user):
    api = api_client_for(user)
    response = api.post(
        "/api/experiments/",
        {
            "name": "Green button",
            "control_trials": 5000,
            "control_conversions": 312,
            "experiment_trials": 5000,
            "experiment_conversions": 398,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["significance"]["significant"] is True
    assert body["significance"]["method"].startswith("simple rule")
    exp_id = body["id"]
    response = api.patch(
        f"/api/experiments/{exp_id}/", {"experiment_conversions": 6000}, format="json"
    )
    assert response.status_code == 400
    assert "experiment_conversions" in response.json()
    response = api.patch(f"/api/experiments/{exp_id}/", {"split": 0.3}, format="json")
    assert response.json()["significance"]["method"].startswith("chi-squared")
    assert api.post("/api/experiments/", {"name": "Green button"}, format="json").status_code == 400
    assert Experiment.objects.count() == 1


def test_the_schema_documents_the_reviews_endpoints(api_client_for, user):
    ExperimentFactory()
    schema = api_client_for(user).get("/api/schema/").content.decode()
    for path in ("/api/reviews/", "/api/retros/", "/api/experiments/{id}/"):
        assert path in schema
