"""Issue 16: links and buttons that broke in a person's hands (querystring links, the verdict
note's Enter key, the status buttons' order, plain wording)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from postmortems.models import SuspectVerdict
from tests.factories import ActionItemFactory, DeployFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _hrefs(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', html)]


# --- bug 1: {% querystring %} already starts with "?" ------------------------------------------


def test_no_link_on_the_action_list_starts_with_two_question_marks(client_for, user, team):
    for i in range(60):
        ActionItemFactory(owner=user, team=team, title=f"Item {i:02}")
    html = client_for(user).get("/actions/").content.decode()
    hrefs = _hrefs(html)
    assert not [h for h in hrefs if h.startswith("??")]
    assert "?page=2" in hrefs


def test_next_shows_other_rows_than_the_first_page(client_for, user, team):
    for i in range(60):
        ActionItemFactory(owner=user, team=team, title=f"Item {i:02}")
    c = client_for(user)
    first = c.get("/actions/").content.decode()
    nxt = next(h for h in _hrefs(first) if "page=2" in h)
    second = c.get("/actions/" + nxt).content.decode()
    rows = lambda html: set(re.findall(r">(Item \d\d)</a>", html))  # noqa: E731
    assert rows(first) and rows(second)
    assert not rows(first) & rows(second)


def test_export_csv_exports_exactly_the_rows_of_the_tab_on_screen(client_for, user):
    team = TeamFactory(manager=user, members=[user])
    colleague = UserFactory()
    team.members.add(colleague)
    ActionItemFactory(owner=user, team=team, title="Mine")
    ActionItemFactory(owner=colleague, team=team, title="My colleague's")
    c = client_for(user)
    page = c.get("/actions/", {"scope": "teams"}).content.decode()
    export = next(h for h in _hrefs(page) if "format=csv" in h)
    assert export.startswith("?") and not export.startswith("??")
    r = c.get("/actions/" + export)
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    titles = {row[1] for row in rows[1:]} if rows[0][0].lower() == "id" else set()
    assert titles == {"Mine", "My colleague's"}


def test_the_tabs_and_sort_links_keep_the_other_filters(client_for, user, team):
    ActionItemFactory(owner=user, team=team, type="prevent")
    html = client_for(user).get("/actions/", {"type": "prevent"}).content.decode()
    hrefs = _hrefs(html)
    tab = next(h for h in hrefs if "scope=all" in h)
    assert tab.startswith("?") and "type=prevent" in tab
    sort = next(h for h in hrefs if "sort=owner" in h)
    assert sort.startswith("?") and "type=prevent" in sort


# --- bug 2: Enter in the "Why?" note keeps the chosen verdict ----------------------------------


@pytest.fixture
def two_suspects(incident, service):
    first = DeployFactory(
        service=service, version="v-first", finished_at=incident.started_at - timedelta(minutes=15)
    )
    second = DeployFactory(
        service=service, version="v-second", finished_at=incident.started_at - timedelta(hours=2)
    )
    return first, second


def _verdict_form(html: str, deploy) -> str:
    start = html.index(f"/suspects/{deploy.pk}/verdict/")
    form_start = html.rindex("<form", 0, start)
    return html[form_start : html.index("</form>", start)]


def test_the_first_button_of_a_verdict_form_keeps_the_current_verdict(
    client_for, user, incident, two_suspects
):
    _first, second = two_suspects
    SuspectVerdict.objects.create(
        incident=incident, deploy=second, verdict="ruled_out", by=user, at=timezone.now()
    )
    html = client_for(user).get(incident.get_absolute_url()).content.decode()
    form = _verdict_form(html, second)
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert 'value="ruled_out"' in first_button


def test_a_note_submitted_with_enter_keeps_ruled_out(client_for, user, incident, two_suspects):
    first, second = two_suspects
    SuspectVerdict.objects.create(
        incident=incident, deploy=first, verdict="culprit", by=user, at=timezone.now()
    )
    SuspectVerdict.objects.create(
        incident=incident, deploy=second, verdict="ruled_out", by=user, at=timezone.now()
    )
    # What the browser sends on Enter: the default (first) button's name and value.
    client_for(user).post(
        f"/incidents/{incident.pk}/suspects/{second.pk}/verdict/",
        {"verdict": "ruled_out", "note": "config only"},
    )
    v = SuspectVerdict.objects.get(incident=incident, deploy=second)
    assert (v.verdict, v.note) == ("ruled_out", "config only")


def test_a_note_without_any_verdict_yet_saves_nothing(client_for, user, incident, two_suspects):
    first, _ = two_suspects
    r = client_for(user).post(
        f"/incidents/{incident.pk}/suspects/{first.pk}/verdict/",
        {"verdict": "", "note": "hmm"},
        follow=True,
    )
    assert "Choose culprit, contributing or ruled out" in r.content.decode()
    assert not SuspectVerdict.objects.filter(incident=incident).exists()


def test_a_second_culprit_asks_for_confirmation_first(client_for, user, incident, two_suspects):
    first, second = two_suspects
    SuspectVerdict.objects.create(
        incident=incident, deploy=first, verdict="culprit", by=user, at=timezone.now()
    )
    c = client_for(user)
    url = f"/incidents/{incident.pk}/suspects/{second.pk}/verdict/"
    r = c.post(url, {"verdict": "culprit", "note": "also this"})
    assert r.status_code == 200
    assert "Mark a second culprit?" in r.content.decode()
    assert not SuspectVerdict.objects.filter(deploy=second).exists()
    r = c.post(url, {"verdict": "culprit", "note": "also this", "confirm": "1"})
    assert r.status_code == 302
    assert SuspectVerdict.objects.get(deploy=second).verdict == "culprit"


def test_a_second_culprit_with_htmx_shows_the_question_in_the_section(
    client_for, user, incident, two_suspects
):
    first, second = two_suspects
    SuspectVerdict.objects.create(
        incident=incident, deploy=first, verdict="culprit", by=user, at=timezone.now()
    )
    r = client_for(user).post(
        f"/incidents/{incident.pk}/suspects/{second.pk}/verdict/",
        {"verdict": "culprit"},
        HTTP_HX_REQUEST="true",
    )
    html = r.content.decode()
    assert 'id="suspects"' in html and "Yes, a second culprit" in html
    assert not SuspectVerdict.objects.filter(deploy=second).exists()


def test_the_first_culprit_needs_no_confirmation(client_for, user, incident, two_suspects):
    first, _ = two_suspects
    client_for(user).post(
        f"/incidents/{incident.pk}/suspects/{first.pk}/verdict/", {"verdict": "culprit"}
    )
    assert SuspectVerdict.objects.get(deploy=first).verdict == "culprit"


# --- bug 9: status buttons follow the lifecycle; plain words --------------------------------------


def _buttons(html: str) -> list[tuple[str, bool]]:
    footer = html[html.index("Move to:") :]
    footer = footer[: footer.index("</section>")]
    return [
        ("btn-primary" in cls, label.strip())
        for cls, label in re.findall(r'<(?:button|summary) class="([^"]*)"[^>]*>([^<]*)<', footer)
    ]


def test_on_a_resolved_incident_no_backward_move_is_the_primary_button(client_for, user, incident):
    now = timezone.now()
    incident.status = "resolved"
    incident.mitigated_at = now - timedelta(minutes=5)
    incident.resolved_at = now
    incident.save()
    buttons = _buttons(client_for(user).get(incident.get_absolute_url()).content.decode())
    primary = [label for is_primary, label in buttons if is_primary]
    assert primary[0] == "Close…"
    labels = [label for _, label in buttons]
    assert "Back to mitigated" in labels and "Back to investigating" in labels


def test_on_an_investigating_incident_mitigated_comes_first_and_is_primary(
    client_for, user, incident
):
    buttons = _buttons(client_for(user).get(incident.get_absolute_url()).content.decode())
    assert buttons[0] == (True, "Mitigated")
    assert [label for _, label in buttons][:2] == ["Mitigated", "Resolved"]


def test_times_are_said_plainly_without_the_word_human(client_for, user, incident):
    incident.detected_at = incident.started_at
    incident.detected_at_source = "human"
    incident.save()
    html = client_for(user).get(incident.get_absolute_url()).content.decode()
    assert "0m" not in html
    assert "set by a person" in html
    assert ">human<" not in html


# --- item 11: manager gaps ------------------------------------------------------------------------


def test_the_action_list_shows_each_items_age(client_for, user, team):
    with time_machine.travel(timezone.now() - timedelta(days=12), tick=False):
        ActionItemFactory(owner=user, team=team, title="Old one")
    html = client_for(user).get("/actions/").content.decode()
    assert ">Age</a>" in html
    assert "12&nbsp;days" in html


def test_a_retros_action_items_are_links(client_for, user, team):
    from tests.factories import RetrospectiveFactory

    retro = RetrospectiveFactory(team=team)
    item = ActionItemFactory(owner=user, team=team, retrospective=retro, title="Fix the flaky CI")
    html = client_for(user).get(f"/retros/{retro.pk}/").content.decode()
    assert f'<a href="{item.get_absolute_url()}">Fix the flaky CI</a>' in html


def test_a_deploy_page_says_it_was_judged_the_culprit_and_of_which_incident(
    client_for, user, incident, two_suspects
):
    first, _ = two_suspects
    SuspectVerdict.objects.create(
        incident=incident, deploy=first, verdict="culprit", by=user, at=timezone.now()
    )
    html = client_for(user).get(first.get_absolute_url()).content.decode()
    assert "the culprit</strong> of" in html
    assert f'href="{incident.get_absolute_url()}#suspect-{first.pk}"' in html


def test_a_deploy_page_hides_verdicts_of_restricted_incidents_from_outsiders(
    client_for, user, incident, two_suspects
):
    first, _ = two_suspects
    incident.visibility = "restricted"
    incident.save()
    SuspectVerdict.objects.create(
        incident=incident, deploy=first, verdict="culprit", by=user, at=timezone.now()
    )
    outsider = UserFactory()
    html = client_for(outsider).get(first.get_absolute_url()).content.decode()
    assert "Judged on incidents" not in html
    assert incident.title not in html


def test_flagged_items_on_the_weekly_review_link_to_the_item_and_its_incident():
    from django.template.loader import render_to_string

    flagged = {
        "restricted": False,
        "id": 7,
        "title": "Cap the pool size",
        "team": "Identity",
        "owner": "Carl",
        "due_on": "2026-10-01",
        "days_overdue": 20,
        "incident_id": 3,
    }
    totals = {"opened": 1, "closed": 0, "overdue": 1, "flagged": 1}
    html = render_to_string(
        "postmortems/reviews/sections/_actions.html",
        {"s": {"actions": {"by_team": [], "totals": totals, "flagged": [flagged]}}},
    )
    assert '<a class="list-title" href="/actions/7/">Cap the pool size</a>' in html
    assert '<a href="/incidents/3/">incident #3</a>' in html
