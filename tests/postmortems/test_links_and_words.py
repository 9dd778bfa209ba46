"""Issue 16, items 10 and 12: every absolute link from SITE_URL; small words that read wrong."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from metrics_link.links import absolute_url, absolutize_html, absolutize_markdown
from postmortems.models import SuspectVerdict
from postmortems.selectors.whys import child_question
from postmortems.services import accounts
from postmortems.services import documents as doc_services
from postmortems.services.publishing import queue_publication_email
from postmortems.views.home import greeting
from tests.factories import ActionItemFactory, DeployFactory, publish_postmortem
from tests.support.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

SITE = "https://pm.example.com"


@pytest.fixture
def site(settings):
    settings.SITE_URL = SITE
    return SITE


# --- item 10: one helper -----------------------------------------------------------------------


def test_the_helper_prefixes_site_paths_and_leaves_other_links_alone(site):
    assert absolute_url("/incidents/1/") == f"{SITE}/incidents/1/"
    assert absolute_url("https://other.example/x") == "https://other.example/x"
    assert absolute_url("mailto:a@b.c") == "mailto:a@b.c"
    md = "See [incident 1](/incidents/1/) and [docs](https://d.example/) ![c](/static/c.png)"
    assert absolutize_markdown(md) == (
        f"See [incident 1]({SITE}/incidents/1/) and [docs](https://d.example/) "
        f"![c]({SITE}/static/c.png)"
    )
    assert absolutize_html('<a href="/a/">a</a><a href="//cdn/x">') == (
        f'<a href="{SITE}/a/">a</a><a href="//cdn/x">'
    )


def test_the_publication_mail_makes_relative_markdown_links_absolute(site, incident, user):
    version = publish_postmortem(
        incident, by=user, sections={"lessons": "Read [the runbook](/services/web/) first."}
    )
    mail.outbox.clear()
    assert queue_publication_email(version_id=version.pk) == 1
    deliver_outbox()
    [message] = [m for m in mail.outbox if not m.subject.startswith("Review requested")]
    assert f"[the runbook]({SITE}/services/web/)" in message.body
    html = message.alternatives[0][0]
    assert f'href="{SITE}/services/web/"' in html
    assert 'href="/' not in html


def test_feeds_link_to_site_url_not_to_the_host_the_request_came_on(site, client, user):
    token = accounts.get_feed_token(user=user)
    body = client.get(
        f"/feeds/{token.token}/postmortems.atom", HTTP_HOST="internal-proxy:8080"
    ).content.decode()
    assert f'href="{SITE}/postmortems/"' in body
    assert "internal-proxy" not in body
    body = client.get(
        f"/feeds/{token.token}/reviews.atom", HTTP_HOST="internal-proxy:8080"
    ).content.decode()
    assert SITE in body and "internal-proxy" not in body


def test_the_ical_feed_and_the_api_use_the_same_site_url(site, client, api_client_for, user, team):
    item = ActionItemFactory(owner=user, team=team, due_on=timezone.localdate())
    token = accounts.get_feed_token(user=user)
    ics = client.get(f"/feeds/{token.token}/actions.ics", HTTP_HOST="internal-proxy:8080")
    text = ics.content.decode().replace("\r\n ", "")
    assert f"{SITE}/actions/{item.pk}/" in text and "internal-proxy" not in text
    data = api_client_for(user).get(f"/api/action-items/{item.pk}/").json()
    assert any(str(v).startswith(f"{SITE}/actions/{item.pk}/") for v in data.values())


# --- item 12: small words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "words"),
    [(7, "Good morning"), (13, "Good afternoon"), (22, "Good evening"), (2, "Hello")],
)
def test_the_greeting_follows_the_hour_in_the_sites_time_zone(settings, hour, words):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    with timezone.override(berlin):
        assert greeting(datetime(2026, 6, 1, hour, 0, tzinfo=berlin)) == words


def test_at_ten_at_night_the_home_page_does_not_say_good_afternoon(settings, client_for, user):
    settings.TIME_ZONE = "UTC"
    from unittest import mock

    late = datetime(2026, 6, 1, 22, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))
    with mock.patch("django.utils.timezone.now", return_value=late):
        html = client_for(user).get("/").content.decode()
    assert "Good afternoon" not in html and "Good evening" in html


def test_the_next_why_question_is_grammatical_whatever_the_answer():
    assert (
        child_question("Our review guide treats config changes as trivial.")
        == "Why did “Our review guide treats config changes as trivial” happen?"
    )
    assert child_question("") == "Why?"


def test_the_summary_never_says_for_zero_minutes(incident, user):
    incident.status = "resolved"
    incident.mitigated_at = incident.started_at
    incident.resolved_at = incident.started_at + timedelta(seconds=10)
    incident.save()
    pm = doc_services.generate_draft(incident=incident, by=user)
    assert "for 0m" not in pm.sections["summary"]


def test_the_published_suspects_are_the_judged_ones_and_the_top_three(incident, service, user):
    deploys = [
        DeployFactory(
            service=service,
            version=f"v{i}",
            finished_at=incident.started_at - timedelta(minutes=10 + 30 * i),
        )
        for i in range(10)
    ]
    SuspectVerdict.objects.create(
        incident=incident, deploy=deploys[8], verdict="ruled_out", by=user, at=timezone.now()
    )
    text = doc_services.generate_draft(incident=incident, by=user).sections["suspects"]
    assert text.count("Not judged") == 3
    assert "web v8" in text or f"{service.slug} v8" in text
    assert f"{service.slug} v5" not in text
    assert "6 other deploys in the window, with lower scores, were not judged" in text


@pytest.mark.parametrize("url", ["/actions/", "/actions/new/", "/retros/new/"])
def test_pickers_say_what_empty_means_instead_of_dashes(client_for, user, team, url):
    response = client_for(user).get(url)
    assert response.status_code == 200
    assert "---------" not in response.content.decode()


def test_feeds_are_offered_through_a_subscribe_page_with_the_url_to_copy(site, client_for, user):
    c = client_for(user)
    library = c.get("/postmortems/").content.decode()
    assert "/subscribe/?feed=postmortems" in library
    page = c.get("/subscribe/?feed=postmortems").content.decode()
    token = accounts.get_feed_token(user=user).token
    assert f'value="{SITE}/feeds/{token}/postmortems.atom"' in page
    assert f'value="{SITE}/feeds/{token}/actions.ics"' in page
