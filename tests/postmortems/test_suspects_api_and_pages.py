"""Suspects over the API and on the incident page; the service page's timeline."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from postmortems.models import SuspectVerdict
from postmortems.views import suspects as suspect_views
from tests.factories import DeployFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def culprit(incident, service):
    return DeployFactory(
        service=service,
        version="v-culprit",
        finished_at=incident.started_at - timedelta(minutes=15),
    )


@pytest.fixture
def bystander(incident):
    return DeployFactory(
        version="v-bystander", finished_at=incident.started_at - timedelta(hours=6)
    )


def test_the_api_lists_suspects_ranked_with_score_and_reasons(
    api_client_for, user, incident, culprit, bystander
):
    r = api_client_for(user).get(f"/api/incidents/{incident.pk}/suspects/")
    assert r.status_code == 200
    assert r.json()["count"] == 2 and r.json()["next"] is None
    data = r.json()["results"]
    assert [d["deploy"]["id"] for d in data] == [culprit.pk, bystander.pk]
    assert [d["rank"] for d in data] == [1, 2]
    assert data[0]["score"] > data[1]["score"]
    assert "same service as the incident" in data[0]["reasons"]
    assert data[0]["breakdown"][0]["points"] > 0
    assert data[0]["verdict"] is None


def test_a_verdict_is_put_over_the_api(api_client_for, user, incident, culprit):
    api = api_client_for(user)
    r = api.put(
        f"/api/incidents/{incident.pk}/suspects/{culprit.pk}/",
        {"verdict": "culprit", "note": "n"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["verdict"]["verdict"] == "culprit"
    assert r.json()["verdict"]["by"] == user.username
    bad = api.put(
        f"/api/incidents/{incident.pk}/suspects/{culprit.pk}/", {"verdict": "guilty"}, format="json"
    )
    assert bad.status_code == 400
    assert (
        api.put(
            f"/api/incidents/{incident.pk}/suspects/999999/", {"verdict": "culprit"}, format="json"
        ).status_code
        == 404
    )


def test_a_deploy_outside_the_window_is_400_not_500(api_client_for, user, incident, service):
    old = DeployFactory(service=service, finished_at=incident.started_at - timedelta(days=3))
    r = api_client_for(user).put(
        f"/api/incidents/{incident.pk}/suspects/{old.pk}/", {"verdict": "culprit"}, format="json"
    )
    assert r.status_code == 400
    assert "deploy" in r.json()


def test_a_restricted_incidents_suspects_are_404_for_outsiders(
    api_client_for, user, service, culprit
):
    restricted = IncidentFactory(
        services=[service],
        restricted=True,
        commander=user,
        started_at=culprit.finished_at + timedelta(minutes=15),
    )
    outsider = api_client_for(UserFactory())
    assert outsider.get(f"/api/incidents/{restricted.pk}/suspects/").status_code == 404
    put = outsider.put(
        f"/api/incidents/{restricted.pk}/suspects/{culprit.pk}/",
        {"verdict": "culprit"},
        format="json",
    )
    assert put.status_code == 404
    assert SuspectVerdict.objects.count() == 0
    assert api_client_for(user).get(f"/api/incidents/{restricted.pk}/suspects/").status_code == 200


def test_the_incident_page_shows_the_ranked_suspects_with_commits(
    client_for, user, incident, culprit, bystander
):
    html = client_for(user).get(incident.get_absolute_url()).content.decode()
    assert "Suspect deploys" in html
    assert html.index("v-culprit") < html.index("v-bystander")
    assert "same service as the incident" in html


def test_a_verdict_without_javascript_redirects_back_to_the_section(
    client_for, user, incident, culprit
):
    r = client_for(user).post(
        f"/incidents/{incident.pk}/suspects/{culprit.pk}/verdict/", {"verdict": "contributing"}
    )
    assert r.status_code == 302
    assert r["Location"].endswith(f"/incidents/{incident.pk}/#suspects")
    assert SuspectVerdict.objects.get().verdict == "contributing"


def test_a_verdict_with_htmx_returns_the_section(client_for, user, incident, culprit):
    r = client_for(user).post(
        f"/incidents/{incident.pk}/suspects/{culprit.pk}/verdict/",
        {"verdict": "culprit"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert html.lstrip().startswith("<section") or 'id="suspects"' in html
    assert 'aria-pressed="true">Culprit' in html


def test_no_deploy_involved_toggles_from_the_page(client_for, user, incident):
    client = client_for(user)
    client.post(f"/incidents/{incident.pk}/suspects/no-deploy/", {"value": "1"})
    incident.refresh_from_db()
    assert incident.no_deploy_involved
    client.post(f"/incidents/{incident.pk}/suspects/no-deploy/", {"value": "0"})
    incident.refresh_from_db()
    assert not incident.no_deploy_involved


def test_the_mitigation_button_sets_the_time_from_the_deploy(client_for, user, incident, service):
    fix = DeployFactory(service=service, finished_at=incident.started_at + timedelta(minutes=20))
    page = client_for(user).get(incident.get_absolute_url()).content.decode()
    assert "Mark as the mitigation" in page
    client_for(user).post(f"/incidents/{incident.pk}/deploys/{fix.pk}/mitigation/")
    incident.refresh_from_db()
    assert incident.mitigated_by_deploy == fix


def test_outsiders_cannot_post_verdicts_on_a_restricted_incident(
    client_for, user, service, culprit
):
    restricted = IncidentFactory(
        services=[service],
        restricted=True,
        commander=user,
        started_at=culprit.finished_at + timedelta(minutes=15),
    )
    r = client_for(UserFactory()).post(
        f"/incidents/{restricted.pk}/suspects/{culprit.pk}/verdict/", {"verdict": "culprit"}
    )
    assert r.status_code == 404
    assert SuspectVerdict.objects.count() == 0


def test_the_service_page_interleaves_deploys_and_the_incidents_the_reader_may_see(
    client_for, user, service, incident, culprit
):
    hidden = IncidentFactory(services=[service], restricted=True, title="Secret tenant leak")
    html = client_for(UserFactory()).get(service.get_absolute_url()).content.decode()
    assert "Deploys and incidents" in html
    assert incident.title in html
    assert "v-culprit" in html
    timeline = html[html.index("Deploys and incidents") :]
    assert timeline.index(incident.title) < timeline.index("v-culprit")  # newest first
    assert hidden.title not in html
    assert "Production deploys, 30 days" in html


def test_the_incident_page_renders_machine_deploy_entries_without_an_author(
    client_for, user, incident, culprit
):
    from postmortems.services.suspects import add_window_deploys_to_timeline

    add_window_deploys_to_timeline(incident.pk)
    r = client_for(user).get(incident.get_absolute_url())
    assert r.status_code == 200
    assert f"/deploys/{culprit.pk}/" in r.content.decode()


# --- bounded: the page shows the top 20 (and any with a verdict), the API a page at a time -------


@pytest.fixture
def many(incident, service):
    """25 suspects, the closest to the start first."""
    return [
        DeployFactory(service=service, finished_at=incident.started_at - timedelta(minutes=5 * i))
        for i in range(1, 26)
    ]


def test_the_incident_page_shows_the_top_20_the_total_and_a_link_to_all(
    client_for, user, incident, many
):
    SuspectVerdict.objects.create(
        incident=incident, deploy=many[23], verdict="ruled_out", by=user, at=incident.started_at
    )
    client = client_for(user)
    response = client.get(incident.get_absolute_url())
    html = response.content.decode()
    shown = [d for d in many if f'id="suspect-{d.pk}"' in html]
    assert shown == [*many[:20], many[23]]  # the verdict'ed one is always shown, at its rank
    assert f'<li value="24" class="suspect verdict-ruled_out" id="suspect-{many[23].pk}"' in html
    assert "25 production deploys" in html
    assert f'href="/incidents/{incident.pk}/suspects/">all 25 suspects</a>' in html

    full = client.get(f"/incidents/{incident.pk}/suspects/")
    assert full.status_code == 200
    body = full.content.decode()
    assert all(f'id="suspect-{d.pk}"' in body for d in many)
    assert "All 25 suspects" in body


def test_the_incident_page_reads_commits_only_for_the_suspects_it_shows(
    client_for, user, incident, many
):
    with CaptureQueriesContext(connection) as ctx:
        client_for(user).get(incident.get_absolute_url())
    commit_reads = [q["sql"] for q in ctx.captured_queries if "deploycommit" in q["sql"].lower()]
    shown = {str(d.pk) for d in many[:20]}
    hidden = {str(d.pk) for d in many[20:]}
    prefetch = [sql for sql in commit_reads if "IN (" in sql and "COUNT(" not in sql.upper()]
    assert prefetch
    ids = set(re.findall(r"\d+", prefetch[0].split("IN (")[-1]))
    assert shown <= ids and not ids & hidden


def test_the_suspects_page_is_paged_and_hidden_like_the_incident(
    client_for, user, incident, many, monkeypatch
):
    monkeypatch.setattr(suspect_views, "SUSPECTS_PAGE_SIZE", 10)
    client = client_for(user)
    page2 = client.get(f"/incidents/{incident.pk}/suspects/?page=2")
    assert page2.status_code == 200
    assert [s.deploy for s in page2.context["suspects"]] == many[10:20]
    assert [s.rank for s in page2.context["suspects"]] == list(range(11, 21))
    incident.visibility = "restricted"
    incident.save()
    assert client_for(UserFactory()).get(f"/incidents/{incident.pk}/suspects/").status_code == 404


def test_the_api_takes_a_limit_and_counts_every_suspect(api_client_for, user, incident, many):
    api = api_client_for(user)
    data = api.get(f"/api/incidents/{incident.pk}/suspects/?limit=5&page=2").json()
    assert data["count"] == 25
    assert [s["rank"] for s in data["results"]] == [6, 7, 8, 9, 10]
    assert [s["deploy"]["id"] for s in data["results"]] == [d.pk for d in many[5:10]]
    assert all("commits" in s["deploy"] for s in data["results"])
    assert len(api.get(f"/api/incidents/{incident.pk}/suspects/").json()["results"]) == 25
    for bad in ("0", "201", "abc", "", "-1"):
        r = api.get(f"/api/incidents/{incident.pk}/suspects/", {"limit": bad})
        assert r.status_code == 400 and "limit" in r.json(), bad
    assert api.get(f"/api/incidents/{incident.pk}/suspects/?limit=200").status_code == 200
