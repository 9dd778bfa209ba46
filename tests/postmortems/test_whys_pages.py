"""The guided session page, end to end without JavaScript (plain POST + redirect)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from postmortems.models import ActionItem, Incident, WhyNode
from postmortems.services import whys as svc
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

SOON = (timezone.localdate() + timedelta(days=7)).isoformat()


def url(incident, name="whys", *args):
    return reverse(f"postmortems:{name}", args=[incident.pk, *args])


def test_the_session_starts_from_the_impact_statement(client_for, user, incident):
    incident.impact = "Logins failed for 35% of users."
    incident.save()
    page = client_for(user).get(url(incident))
    assert page.status_code == 200
    assert "Why did “Logins failed for 35% of users” happen?" in page.content.decode()
    assert "autofocus" in page.content.decode()


def test_a_full_step_goes_one_level_deeper_without_javascript(client_for, user, incident):
    client = client_for(user)
    reply = client.post(
        url(incident, "whys-add"), {"answer": "Too many connections", "category": "infrastructure"}
    )
    node = WhyNode.objects.get()
    assert reply.status_code == 302
    assert reply.url.endswith(f"?add={node.pk}#prompt")
    page = client.get(reply.url)
    assert "Why did “Too many connections” happen?" in page.content.decode()
    reply = client.post(
        url(incident, "whys-add"),
        {"answer": "Slow queries on the master", "parent": node.pk, "step": "branch"},
    )
    child = WhyNode.objects.get(parent=node)
    assert child.level == 2
    assert reply.url.endswith(f"?add={node.pk}#prompt")


def test_saving_a_node_edits_it_at_its_version(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a")
    reply = client_for(user).post(
        url(incident, "whys-update", node.pk),
        {"answer": "better", "category": "process", "version": 1, "step": "save"},
    )
    assert reply.status_code == 302
    assert reply.url.endswith(f"?node={node.pk}#prompt")
    node.refresh_from_db()
    assert (node.answer, node.category, node.version) == ("better", "process", 2)


def test_a_stale_save_says_who_changed_it_and_keeps_my_text(client_for, user, incident):
    ned = UserFactory(username="ned", first_name="Ned", last_name="Stark")
    incident.responders.add(ned)  # one of its people
    node = svc.add_why(incident=incident, author=user, answer="first")
    svc.update_why(node=node, expected_version=1, by=ned, answer="ned's words")
    page = client_for(user).post(
        url(incident, "whys-update", node.pk), {"answer": "my careful words", "version": 1}
    )
    body = page.content.decode()
    assert page.status_code == 409
    assert "changed by Ned Stark" in body
    assert "reload" in body
    assert "my careful words</textarea>" in body
    assert 'name="version" value="2"' in body
    node.refresh_from_db()
    assert node.answer == "ned's words"


def test_adding_a_corrective_action_creates_an_action_item(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a")
    reply = client_for(user).post(
        url(incident, "whys-action", node.pk),
        {
            "title": "Cache it",
            "owner": user.pk,
            "due_on": SOON,
            "type": "prevent",
            "estimated_hours": "8",
            "priority": "p1",
        },
    )
    assert reply.status_code == 302
    item = ActionItem.objects.get()
    assert (item.why_node, item.owner, item.priority, item.estimated_hours) == (
        node,
        user,
        "p1",
        8,
    )


def test_an_invalid_action_shows_the_errors_on_the_page(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a")
    page = client_for(user).post(url(incident, "whys-action", node.pk), {"title": ""})
    assert page.status_code == 400
    assert "errorlist" in page.content.decode()
    assert not ActionItem.objects.exists()


def test_accepting_risk_and_stopping_need_a_reason(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a")
    client = client_for(user)
    client.post(url(incident, "whys-risk", node.pk), {"reason": "cheap", "version": 1})
    client.post(url(incident, "whys-stop", node.pk), {"reason": "vendor", "version": 2})
    node.refresh_from_db()
    assert (node.accepted_risk_reason, node.stop_reason) == ("cheap", "vendor")


def test_deleting_a_cause_is_soft(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a")
    client_for(user).post(url(incident, "whys-delete", node.pk), {"version": 1})
    node.refresh_from_db()
    assert node.is_deleted


def test_blameless_hints_warn_on_a_known_person(client_for, user, incident):
    UserFactory(username="ned", first_name="Ned", last_name="Stark")
    page = client_for(user).post(
        url(incident, "whys-hints"),
        {"answer": "Ned forgot to add the cache"},
        HTTP_HX_REQUEST="true",
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert "<mark>Ned</mark>" in body
    assert "Blameless check" in body


def test_blameless_hints_stay_quiet_on_system_wording(client_for, user, incident):
    UserFactory(username="ned")
    page = client_for(user).post(
        url(incident, "whys-hints"), {"answer": "The onboarding did not cover caching"}
    )
    assert page.content.decode().strip() == ""


def test_a_restricted_incident_is_404_on_every_step(client_for, incident, user):
    Incident.objects.filter(pk=incident.pk).update(visibility="restricted")
    node = svc.add_why(incident=incident, author=user, answer="a")
    stranger = client_for(UserFactory())
    assert stranger.get(url(incident)).status_code == 404
    for name, args in [
        ("whys-add", ()),
        ("whys-hints", ()),
        ("whys-update", (node.pk,)),
        ("whys-action", (node.pk,)),
        ("whys-risk", (node.pk,)),
        ("whys-stop", (node.pk,)),
        ("whys-delete", (node.pk,)),
    ]:
        assert stranger.post(url(incident, name, *args), {"answer": "x"}).status_code == 404


def test_a_node_of_another_incident_is_404(client_for, user, incident):
    other = svc.add_why(incident=IncidentFactory(commander=user), author=user, answer="a")
    reply = client_for(user).post(url(incident, "whys-update", other.pk), {"answer": "x"})
    assert reply.status_code == 404


def test_the_incident_page_shows_the_progress_card(client_for, user, incident):
    svc.add_why(incident=incident, author=user, answer="Too many connections")
    body = client_for(user).get(incident.get_absolute_url()).content.decode()
    assert "Five whys" in body
    assert "Too many connections" in body
    assert "missing before close" in body
    assert reverse("postmortems:whys", args=[incident.pk]) in body


def test_closing_from_the_incident_page_shows_what_is_missing(client_for, user, incident):
    client = client_for(user)
    reply = client.post(
        url(incident, "incident-status"), {"to": "closed", "reason": "resolved"}, follow=True
    )
    assert "No why tree yet" in reply.content.decode()
    incident.refresh_from_db()
    assert incident.status != "closed"


def _tree(incident, user, count):
    parent = None
    for i in range(count):
        # a mix of depth and breadth: chains of 5 with branches
        parent = svc.add_why(
            incident=incident,
            author=user,
            parent=parent if i % 5 else None,
            answer=f"cause {i}",
            category="code",
        )
        svc.add_corrective_action(
            node=parent, by=user, title=f"fix {i}", owner=user, due_on=timezone.localdate()
        )


def test_the_session_page_runs_a_constant_number_of_queries(
    client_for, user, incident, django_assert_num_queries
):
    client = client_for(user)
    small = IncidentFactory(services=list(incident.services.all()))
    big = IncidentFactory(services=list(incident.services.all()))
    _tree(small, user, 5)  # complete, like the big one: both resume on the last cause
    _tree(big, user, 30)
    client.get(url(small))  # warm the session and the content types
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url(small)).status_code == 200
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(url(big)).status_code == 200
    # A focused cause (its commitment footer) is compared with a focused cause of the small tree.
    small_deep = f"{url(small)}?node={small.why_nodes.last().pk}"
    with CaptureQueriesContext(connection) as few_focused:
        assert client.get(small_deep).status_code == 200
    deep = f"{url(big)}?node={big.why_nodes.last().pk}"
    with django_assert_num_queries(len(few_focused.captured_queries)):
        assert client.get(deep).status_code == 200


def test_evidence_links_are_saved_one_per_line(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a")
    client = client_for(user)
    client.post(
        url(incident, "whys-update", node.pk),
        {"answer": "a", "version": 1, "evidence": "https://grafana/d/db\n\nhttps://logs/x"},
    )
    node.refresh_from_db()
    assert node.evidence_links == ["https://grafana/d/db", "https://logs/x"]
    page = client.post(
        url(incident, "whys-update", node.pk), {"answer": "a", "version": 2, "evidence": "nope"}
    )
    assert page.status_code == 400
    assert "Evidence links must be http(s) URLs: nope" in page.content.decode()


def test_going_deeper_from_an_unchanged_node_writes_nothing(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a", category="code")
    reply = client_for(user).post(
        url(incident, "whys-update", node.pk),
        {"answer": "a", "category": "code", "version": 1, "question": node.question},
    )
    assert reply.url.endswith(f"?add={node.pk}#prompt")
    node.refresh_from_db()
    assert node.version == 1
