"""Tree rules and the "done means done" gate, at the service level."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from postmortems.models import ActionItem, Incident, WhyNode
from postmortems.selectors import whys as sel
from postmortems.services import incidents as incident_services
from postmortems.services import whys as svc
from postmortems.services.errors import ServiceError
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

SOON = timezone.localdate() + timedelta(days=7)


def chain(incident, user, depth, *, actions=True, parent=None):
    nodes = []
    for i in range(depth):
        parent = svc.add_why(
            incident=incident, author=user, parent=parent, answer=f"cause {i + 1}", category="code"
        )
        if actions:
            svc.add_corrective_action(
                node=parent,
                by=user,
                title=f"fix {i + 1}",
                owner=user,
                due_on=SOON,
                estimated_hours=2,
            )
        nodes.append(parent)
    return nodes


# --- adding causes -------------------------------------------------------------------------


def test_a_first_cause_answers_why_the_impact_happened(incident, user):
    incident.impact = "Logins failed for 35% of users."
    node = svc.add_why(incident=incident, author=user, answer="Too many connections")
    assert node.level == 1
    assert node.question == "Why did “Logins failed for 35% of users” happen?"


def test_the_question_falls_back_to_the_title_without_an_impact(incident, user):
    incident.impact = ""
    incident.title = "Checkout down"
    node = svc.add_why(incident=incident, author=user, answer="x")
    assert node.question == "Why did “Checkout down” happen?"


def test_a_child_asks_why_of_its_parents_answer_one_level_deeper(incident, user):
    parent = svc.add_why(
        incident=incident, author=user, answer="The master ran out of connections."
    )
    child = svc.add_why(incident=incident, author=user, parent=parent, answer="Slow queries")
    assert child.level == 2
    assert child.question == "Why did “The master ran out of connections” happen?"


def test_the_suggested_question_can_be_replaced(incident, user):
    parent = svc.add_why(incident=incident, author=user, answer="A")
    child = svc.add_why(
        incident=incident, author=user, parent=parent, answer="B", question="Why so many?"
    )
    assert child.question == "Why so many?"


def test_a_node_can_have_several_causes(incident, user):
    parent = svc.add_why(incident=incident, author=user, answer="A")
    for n in range(3):
        svc.add_why(incident=incident, author=user, parent=parent, answer=f"B{n}")
    assert parent.children.count() == 3
    assert len(sel.load_tree(incident).branches()) == 3


def test_an_answer_is_required(incident, user):
    with pytest.raises(ServiceError) as exc:
        svc.add_why(incident=incident, author=user, answer="   ")
    assert "answer" in exc.value.message_dict


def test_an_unknown_category_is_refused(incident, user):
    with pytest.raises(ServiceError) as exc:
        svc.add_why(incident=incident, author=user, answer="a", category="people")
    assert "category" in exc.value.message_dict


def test_a_parent_from_another_incident_is_refused(incident, user):
    other = svc.add_why(incident=IncidentFactory(commander=user), author=user, answer="elsewhere")
    with pytest.raises(ServiceError) as exc:
        svc.add_why(incident=incident, author=user, parent=other, answer="a")
    assert "parent" in exc.value.message_dict


def test_a_deleted_parent_is_refused(incident, user):
    parent = svc.add_why(incident=incident, author=user, answer="a")
    svc.delete_why(node=parent, expected_version=1, by=user)
    with pytest.raises(ServiceError):
        svc.add_why(incident=incident, author=user, parent=parent, answer="b")


def test_evidence_links_must_be_web_addresses(incident, user):
    with pytest.raises(ServiceError) as exc:
        svc.add_why(incident=incident, author=user, answer="a", evidence_links=["javascript:x"])
    assert "evidence_links" in exc.value.message_dict
    node = svc.add_why(
        incident=incident, author=user, answer="a", evidence_links=["https://grafana/x"]
    )
    node = svc.add_evidence_link(node=node, url="https://logs/y", expected_version=1, by=user)
    assert node.evidence_links == ["https://grafana/x", "https://logs/y"]


# --- optimistic locking ----------------------------------------------------------------------


def test_an_edit_at_the_current_version_is_applied_and_bumps_it(incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    node = svc.update_why(node=node, expected_version=1, by=user, answer="b", category="process")
    assert (node.answer, node.category, node.version) == ("b", "process", 2)
    assert node.history.count() == 2


def test_a_stale_edit_is_refused_and_names_who_changed_it(incident, user):
    ned = UserFactory(first_name="Ned", last_name="Stark")
    incident.responders.add(ned)  # one of its people
    node = svc.add_why(incident=incident, author=user, answer="a")
    svc.update_why(node=node, expected_version=1, by=ned, answer="ned's version")
    with pytest.raises(svc.StaleVersion) as exc:
        svc.update_why(node=node, expected_version=1, by=user, answer="mine")
    assert "changed by Ned Stark" in str(exc.value.messages[0])
    assert "reload" in exc.value.messages[0]
    assert exc.value.current_version == 2
    node.refresh_from_db()
    assert node.answer == "ned's version"


def test_adding_a_child_does_not_change_the_parents_version(incident, user):
    parent = svc.add_why(incident=incident, author=user, answer="a")
    svc.add_why(incident=incident, author=user, parent=parent, answer="b")
    parent.refresh_from_db()
    assert parent.version == 1
    svc.update_why(node=parent, expected_version=1, by=user, answer="a2")


def test_only_known_fields_can_be_edited(incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    with pytest.raises(ServiceError):
        svc.update_why(node=node, expected_version=1, by=user, level=3)


def test_an_answer_cannot_be_emptied(incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    with pytest.raises(ServiceError):
        svc.update_why(node=node, expected_version=1, by=user, answer="")


def test_deleting_is_soft_versioned_and_takes_the_causes_below(incident, user):
    a, b, c = chain(incident, user, 3, actions=False)
    with pytest.raises(svc.StaleVersion):
        svc.delete_why(node=b, expected_version=7, by=user)
    svc.delete_why(node=b, expected_version=1, by=user)
    assert set(WhyNode.objects.filter(is_deleted=True).values_list("pk", flat=True)) == {b.pk, c.pk}
    assert [n.pk for n in sel.load_tree(incident).nodes] == [a.pk]
    with pytest.raises(ServiceError, match="deleted"):
        svc.update_why(node=b, expected_version=2, by=user, answer="x")


def test_accept_risk_and_stop_reason_need_a_reason(incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    with pytest.raises(ServiceError):
        svc.accept_risk(node=node, reason=" ", expected_version=1, by=user)
    with pytest.raises(ServiceError):
        svc.set_stop_reason(node=node, reason="", expected_version=1, by=user)
    node = svc.accept_risk(node=node, reason="cheap to recover", expected_version=1, by=user)
    node = svc.set_stop_reason(node=node, reason="outside our control", expected_version=2, by=user)
    assert node.version == 3


def test_a_corrective_action_is_an_action_item_of_the_node_and_incident(incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    item = svc.add_corrective_action(
        node=node,
        by=user,
        title="Cache it",
        owner=user,
        due_on=SOON,
        type="detect",
        priority="p1",
        estimated_hours=Decimal("6.5"),
    )
    assert (item.why_node, item.incident, item.type, item.priority) == (
        node,
        incident,
        "detect",
        "p1",
    )
    assert item.team == incident.services.first().team


def test_a_corrective_action_on_a_deleted_node_is_refused(incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    svc.delete_why(node=node, expected_version=1, by=user)
    with pytest.raises(ServiceError):
        svc.add_corrective_action(node=node, by=user, title="x", owner=user, due_on=SOON)


# --- the gate --------------------------------------------------------------------------------


def sev(incident, severity):
    Incident.objects.filter(pk=incident.pk).update(severity=severity)
    incident.refresh_from_db()
    return incident


def test_a_sev1_without_a_tree_says_it_needs_five_levels(incident):
    sev(incident, "sev1")
    assert svc.tree_gaps(incident) == [
        "No why tree yet: a SEV1 needs its causes traced 5 levels deep (run the five whys)."
    ]


def test_a_sev4_needs_no_tree(incident):
    assert svc.tree_gaps(sev(incident, "sev4")) == []


@pytest.mark.parametrize(("severity", "depth"), [("sev1", 5), ("sev2", 5), ("sev3", 3)])
def test_a_chain_as_deep_as_the_severity_requires_with_actions_is_complete(
    incident, user, severity, depth
):
    sev(incident, severity)
    chain(incident, user, depth - 1)
    gaps = svc.tree_gaps(incident)
    assert len(gaps) == 1
    assert f"is 1 level short of the {depth} a {severity.upper()} needs" in gaps[0]
    incident.why_nodes.all().delete()
    chain(incident, user, depth)
    assert svc.tree_gaps(incident) == []


def test_a_short_branch_with_a_stop_reason_is_complete(incident, user):
    sev(incident, "sev2")
    nodes = chain(incident, user, 5)
    side = svc.add_why(incident=incident, author=user, parent=nodes[1], answer="vendor outage")
    svc.add_corrective_action(node=side, by=user, title="x", owner=user, due_on=SOON)
    assert any("level 3" in g and "short of the 5" in g for g in svc.tree_gaps(incident))
    svc.set_stop_reason(node=side, reason="outside our control", expected_version=1, by=user)
    assert svc.tree_gaps(incident) == []


def test_every_node_needs_an_owned_dated_action_or_an_accepted_risk(incident, user):
    sev(incident, "sev3")
    a, b, c = chain(incident, user, 3, actions=False)
    gaps = svc.tree_gaps(incident)
    assert len(gaps) == 3
    assert all("needs a corrective action with an owner and a due date" in g for g in gaps)
    svc.add_corrective_action(node=a, by=user, title="no owner", due_on=SOON)
    svc.add_corrective_action(node=b, by=user, title="no date", owner=user)
    svc.accept_risk(node=c, reason="rare and cheap", expected_version=1, by=user)
    gaps = svc.tree_gaps(incident)
    assert len(gaps) == 2
    assert all("its actions lack an owner or a due date" in g for g in gaps)
    svc.add_corrective_action(node=a, by=user, title="owned", owner=user, due_on=SOON)
    svc.add_corrective_action(node=b, by=user, title="dated", owner=user, due_on=SOON)
    assert svc.tree_gaps(incident) == []


def test_an_action_dropped_as_wont_do_does_not_count(incident, user):
    sev(incident, "sev3")
    nodes = chain(incident, user, 3)
    ActionItem.objects.filter(why_node=nodes[2]).update(status="wont_do")
    assert len(svc.tree_gaps(incident)) == 1


def test_deleted_nodes_are_not_counted(incident, user):
    sev(incident, "sev3")
    nodes = chain(incident, user, 3)
    extra = svc.add_why(incident=incident, author=user, parent=nodes[0], answer="half-baked")
    assert len(svc.tree_gaps(incident)) == 2  # short branch and no action
    svc.delete_why(node=extra, expected_version=1, by=user)
    assert svc.tree_gaps(incident) == []


def test_closing_as_resolved_is_refused_with_what_is_missing(incident, user):
    sev(incident, "sev3")
    chain(incident, user, 2)
    with pytest.raises(ServiceError) as exc:
        incident_services.change_status(incident=incident, to="closed", by=user, reason="resolved")
    assert any("short of the 3 a SEV3 needs" in m for m in exc.value.messages)
    incident.refresh_from_db()
    assert incident.status != "closed"


def test_closing_as_resolved_passes_once_the_tree_is_complete(incident, user):
    sev(incident, "sev3")
    chain(incident, user, 3)
    closed = incident_services.change_status(
        incident=incident, to="closed", by=user, reason="resolved"
    )
    assert closed.status == "closed"


def test_a_false_alarm_closes_without_a_tree(incident, user):
    sev(incident, "sev1")
    closed = incident_services.change_status(
        incident=incident, to="closed", by=user, reason="false_alarm"
    )
    assert closed.status == "closed"


# --- proportional investment ------------------------------------------------------------------


def test_effort_is_committed_per_level_against_the_severity_target(incident, user, settings):
    settings.WHY_EFFORT_TARGET_HOURS = {"sev2": [4, 8, 12]}
    sev(incident, "sev2")
    _a, b = chain(incident, user, 2)
    svc.add_corrective_action(
        node=b, by=user, title="more", owner=user, due_on=SOON, estimated_hours=7
    )
    rows = sel.effort_by_level(sel.load_tree(incident))
    assert [(r.level, r.committed, r.target) for r in rows[:3]] == [
        (1, Decimal(2), 4),
        (2, Decimal(9), 8),
        (3, Decimal(0), 12),
    ]
    assert [r.met for r in rows[:3]] == [False, True, False]


def test_it_warns_when_every_action_sits_on_level_one(incident, user):
    a, _b, _c = chain(incident, user, 3, actions=False)
    svc.add_corrective_action(node=a, by=user, title="restart", owner=user, due_on=SOON)
    warnings = sel.effort_warnings(sel.load_tree(incident))
    assert warnings
    assert "level 1" in warnings[0]


def test_it_warns_when_deeper_levels_have_no_action(incident, user):
    a, b, c = chain(incident, user, 3, actions=False)
    svc.add_corrective_action(node=a, by=user, title="restart", owner=user, due_on=SOON)
    svc.add_corrective_action(node=b, by=user, title="alert", owner=user, due_on=SOON)
    warnings = sel.effort_warnings(sel.load_tree(incident))
    assert warnings == [
        "Level 3 has no corrective action: the deeper causes are where recurrence is prevented."
    ]
    svc.add_corrective_action(node=c, by=user, title="deep", owner=user, due_on=SOON)
    assert sel.effort_warnings(sel.load_tree(incident)) == []


def test_the_people_list_holds_usernames_and_full_names_and_is_cached_per_request(
    rf, django_assert_num_queries
):
    UserFactory(username="ned", first_name="Ned", last_name="Stark")
    request = rf.get("/")
    with django_assert_num_queries(1):
        people = sel.blameless_people(request)
        assert sel.blameless_people(request) is people
    assert {"ned", "Ned Stark"} <= set(people)
