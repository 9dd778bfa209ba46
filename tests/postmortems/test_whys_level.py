"""One form per why level: the answer, its category and its corrective action saved together,
atomically, with the node's version; the action's due date and effort default from the incident's
severity and the action's type."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from postmortems.models import ActionItem, WhyNode
from postmortems.services import whys as svc
from postmortems.services.errors import ServiceError
from tests.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def url(incident, name="whys", *args):
    return reverse(f"postmortems:{name}", args=[incident.pk, *args])


def level(**fields):
    return {"answer": "", "category": "", "action_title": "", "action_type": "prevent", **fields}


# --- the service ---------------------------------------------------------------------------


def test_answer_why_saves_the_cause_and_its_action_in_one_call(user, incident):
    saved = svc.answer_why(
        incident=incident,
        by=user,
        answer="The master ran out of connections",
        category="infrastructure",
        action_title="Alert at 80% of max connections",
        action_type="detect",
    )
    node = WhyNode.objects.get()
    assert saved.node == node and node.level == 1 and node.category == "infrastructure"
    action = ActionItem.objects.get()
    assert saved.action == action
    assert action.why_node == node and action.incident == incident
    assert action.owner == user and action.type == "detect"
    assert action.due_on is not None and action.estimated_hours is not None


def test_the_actions_due_date_and_effort_default_from_severity_and_type(user, service):
    today = timezone.localdate()
    sev1 = IncidentFactory(severity="sev1", services=[service])
    sev3 = IncidentFactory(severity="sev3", services=[service])
    svc.answer_why(
        incident=sev1, by=user, answer="a", action_title="Fix it", action_type="mitigate"
    )
    svc.answer_why(incident=sev3, by=user, answer="b", action_title="Fix it", action_type="prevent")
    fast = ActionItem.objects.get(incident=sev1)
    slow = ActionItem.objects.get(incident=sev3)
    assert fast.due_on == today + timedelta(days=3)
    assert fast.estimated_hours == Decimal("4")
    assert slow.due_on == today + timedelta(days=30)
    assert slow.estimated_hours == Decimal("4")
    # The defaults are just a start: the action stays editable like any other.
    assert svc.action_defaults(severity="sev2", type="process").due_days == 30


@override_settings(
    WHY_ACTION_DEFAULTS={
        "sev2": {"due_days": {"prevent": 2}, "hours": {"prevent": 1.5}},
    }
)
def test_the_defaults_come_from_the_settings_table(user, incident):
    svc.answer_why(incident=incident, by=user, answer="a", action_title="Fix it")
    action = ActionItem.objects.get()
    assert action.due_on == timezone.localdate() + timedelta(days=2)
    assert action.estimated_hours == Decimal("1.5")


def test_a_stale_version_refuses_the_whole_level(user, other_user, incident):
    node = svc.add_why(incident=incident, author=user, answer="Old answer")
    incident.responders.add(other_user)
    svc.update_why(node=node, expected_version=1, by=other_user, answer="Their answer")
    with pytest.raises(svc.StaleVersion):
        svc.answer_why(
            incident=incident,
            by=user,
            node=node,
            expected_version=1,
            answer="My answer",
            category="code",
            action_title="My fix",
        )
    node.refresh_from_db()
    assert (node.answer, node.category, node.version) == ("Their answer", "", 2)
    assert not ActionItem.objects.exists()


def test_a_stale_version_is_refused_even_when_only_an_action_is_added(user, other_user, incident):
    node = svc.add_why(incident=incident, author=user, answer="Same answer")
    incident.responders.add(other_user)
    svc.update_why(node=node, expected_version=1, by=other_user, category="process")
    with pytest.raises(svc.StaleVersion):
        svc.answer_why(
            incident=incident,
            by=user,
            node=node,
            expected_version=1,
            answer="Same answer",
            category="process",
            action_title="A fix for what I saw",
        )
    assert not ActionItem.objects.exists()


def test_a_level_without_the_nodes_version_saves_nothing(user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a")
    with pytest.raises(ServiceError):
        svc.answer_why(incident=incident, by=user, node=node, answer="b", action_title="x")
    node.refresh_from_db()
    assert node.answer == "a" and node.version == 1
    assert not ActionItem.objects.exists()


def test_a_refused_action_leaves_no_new_cause_behind(user):
    # No team anywhere: the service has none and neither has the person.
    orphan = IncidentFactory(services=[ServiceFactory(team=None, claimed=False)], commander=user)
    with pytest.raises(ServiceError) as refused:
        svc.answer_why(incident=orphan, by=user, answer="Something", action_title="Fix")
    assert "team" in refused.value.message_dict
    assert not WhyNode.objects.exists()
    assert not ActionItem.objects.exists()


def test_an_unchanged_cause_with_a_new_action_keeps_its_version(user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a", category="code")
    saved = svc.answer_why(
        incident=incident,
        by=user,
        node=node,
        expected_version=1,
        answer="a",
        category="code",
        action_title="Second fix",
    )
    node.refresh_from_db()
    assert node.version == 1
    assert saved.action.why_node == node


# --- the page ------------------------------------------------------------------------------


def test_one_post_saves_the_answer_category_and_action_and_opens_the_next_level(
    client_for, user, incident
):
    reply = client_for(user).post(
        url(incident, "whys-level"),
        level(
            answer="The master ran out of connections",
            category="infrastructure",
            action_title="Alert at 80% of max connections",
            step="deeper",
        ),
    )
    node = WhyNode.objects.get()
    assert reply.status_code == 302
    assert reply.url.endswith(f"?add={node.pk}#prompt")
    action = ActionItem.objects.get()
    assert (action.why_node, action.owner, action.title) == (
        node,
        user,
        "Alert at 80% of max connections",
    )
    assert action.due_on == timezone.localdate() + timedelta(days=21)  # sev2, prevent
    page = client_for(user).get(reply.url)
    assert "Level 2 of 5" in page.content.decode()


def test_the_level_page_shows_one_form_with_the_action_and_its_defaults(client_for, user, incident):
    html = client_for(user).get(url(incident)).content.decode()
    assert html.count('class="why-form"') == 1
    assert reverse("postmortems:whys-level", args=[incident.pk]) in html
    assert 'name="action_title"' in html
    due = timezone.localdate() + timedelta(days=21)
    assert f"due {due:%b} {due.day}" in html
    assert "8 engineer-hours" in html


def test_editing_a_level_on_the_page_carries_the_nodes_version(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="a")
    html = client_for(user).get(f"{url(incident)}?node={node.pk}").content.decode()
    assert f'name="node" value="{node.pk}"' in html
    assert 'name="version" value="1"' in html


def test_a_stale_level_form_keeps_the_persons_text_and_saves_nothing(
    client_for, user, other_user, incident
):
    node = svc.add_why(incident=incident, author=user, answer="Old")
    incident.responders.add(other_user)
    svc.update_why(node=node, expected_version=1, by=other_user, answer="Theirs")
    reply = client_for(user).post(
        url(incident, "whys-level"),
        level(
            node=node.pk,
            version=1,
            answer="Mine",
            category="code",
            action_title="My fix",
            focus_node=node.pk,
        ),
    )
    assert reply.status_code == 409
    html = reply.content.decode()
    assert "Theirs" in html and "Mine" in html and "My fix" in html
    node.refresh_from_db()
    assert (node.answer, node.version) == ("Theirs", 2)
    assert not ActionItem.objects.exists()


def test_a_level_form_without_the_version_is_refused(client_for, user, incident):
    node = svc.add_why(incident=incident, author=user, answer="Old")
    reply = client_for(user).post(
        url(incident, "whys-level"), level(node=node.pk, answer="New", focus_node=node.pk)
    )
    assert reply.status_code == 400
    assert "version" in reply.content.decode()
    node.refresh_from_db()
    assert node.answer == "Old"


def test_an_empty_answer_saves_neither_cause_nor_action(client_for, user, incident):
    reply = client_for(user).post(url(incident, "whys-level"), level(action_title="A fix"))
    assert reply.status_code == 400
    assert "Write the answer" in reply.content.decode()
    assert not WhyNode.objects.exists()
    assert not ActionItem.objects.exists()


def test_at_the_last_required_level_enter_saves_instead_of_going_deeper(client_for, user, incident):
    parent = None
    for i in range(4):
        parent = svc.add_why(incident=incident, author=user, parent=parent, answer=f"cause {i}")
    # Enter in a text box submits without a button: the page's default step says what it does.
    html = client_for(user).get(f"{url(incident)}?add={parent.pk}").content.decode()
    assert 'name="default_step" value="save"' in html
    reply = client_for(user).post(
        url(incident, "whys-level"),
        level(parent=parent.pk, answer="cause 4", default_step="save", action_title="Fix"),
    )
    last = WhyNode.objects.get(level=5)
    assert reply.url.endswith(f"?node={last.pk}#prompt")


def test_stopping_a_branch_resumes_at_the_next_level_of_the_unfinished_chain(
    client_for, user, incident
):
    top = svc.add_why(incident=incident, author=user, answer="top")
    main = svc.add_why(incident=incident, author=user, parent=top, answer="main")
    side = svc.add_why(incident=incident, author=user, parent=top, answer="side")
    for node in (top, main, side):
        svc.add_corrective_action(
            node=node, by=user, title="fix", owner=user, due_on=timezone.localdate()
        )
    client = client_for(user)
    reply = client.post(url(incident, "whys-stop", side.pk), {"reason": "vendor", "version": 1})
    assert reply.status_code == 302
    page = client.get(reply.url)
    html = page.content.decode()
    assert "Level 3 of 5" in html
    assert f'name="parent" value="{main.pk}"' in html


def test_each_action_type_says_which_defaults_it_starts_with(client_for, user, incident):
    html = client_for(user).get(url(incident)).content.decode()
    due = timezone.localdate() + timedelta(days=7)
    assert f"due {due:%b} {due.day} (7 days) with 2 engineer-hours" in html  # sev2 mitigate
    assert "js/whys.js" in html
