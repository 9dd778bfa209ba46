"""Lifecycle rules of action items, at the service level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems.models import ActionItem, TimelineEntry
from postmortems.permissions import NotAllowed
from postmortems.services import actions as svc
from postmortems.services.errors import ServiceError
from tests.factories import ActionItemFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_starts_an_open_item():
    item = ActionItemFactory()
    svc.start_action_item(item=item, by=item.owner)
    item.refresh_from_db()
    assert item.status == "in_progress"
    assert item.history.first().history_user == item.owner


@pytest.mark.parametrize("status", ["in_progress", "done", "wont_do"])
def test_it_refuses_to_start_an_item_that_is_not_open(status):
    item = ActionItemFactory(status=status)
    with pytest.raises(ServiceError) as exc:
        svc.start_action_item(item=item, by=item.owner)
    assert "cannot be started" in str(exc.value)


@pytest.mark.parametrize("status", ["open", "in_progress"])
def test_it_closes_as_done_with_a_verification_note_and_records_who_and_when(status):
    item = ActionItemFactory(status=status)
    closer = item.team.manager or UserFactory()
    item.team.manager = closer
    item.team.save()
    svc.complete_action_item(
        item=item, by=closer, verification_note="  Drill passed. ", actual_hours=3
    )
    item.refresh_from_db()
    assert item.status == "done"
    assert item.verification_note == "Drill passed."
    assert item.closed_by == closer
    assert timezone.now() - item.closed_at < timedelta(seconds=5)
    assert item.actual_hours == 3
    record = item.history.first()
    assert record.history_user == closer
    assert record.history_change_reason == "Done"


@pytest.mark.parametrize("note", ["", "   ", None])
def test_it_refuses_to_close_as_done_without_a_verification_note(note):
    item = ActionItemFactory()
    with pytest.raises(ServiceError) as exc:
        svc.complete_action_item(item=item, by=item.owner, verification_note=note)
    assert "verification_note" in exc.value.message_dict
    item.refresh_from_db()
    assert item.status == "open"


@pytest.mark.parametrize("status", ["done", "wont_do"])
def test_it_refuses_to_close_an_item_twice(status):
    item = ActionItemFactory(status=status)
    with pytest.raises(ServiceError):
        svc.complete_action_item(item=item, by=item.owner, verification_note="x")
    with pytest.raises(ServiceError):
        svc.wont_do_action_item(item=item, by=item.owner, reason="x")


def test_it_refuses_wont_do_without_a_reason():
    item = ActionItemFactory()
    with pytest.raises(ServiceError) as exc:
        svc.wont_do_action_item(item=item, by=item.owner, reason=" ")
    assert "wont_do_reason" in exc.value.message_dict


def test_it_closes_as_wont_do_with_a_reason():
    item = ActionItemFactory(status="in_progress")
    svc.wont_do_action_item(item=item, by=item.owner, reason="Superseded by the new cache.")
    item.refresh_from_db()
    assert (item.status, item.wont_do_reason, item.closed_by) == (
        "wont_do",
        "Superseded by the new cache.",
        item.owner,
    )


def test_it_reopens_a_closed_item_and_clears_the_closure():
    item = ActionItemFactory()
    svc.complete_action_item(item=item, by=item.owner, verification_note="ok")
    svc.reopen_action_item(item=item, by=item.owner)
    item.refresh_from_db()
    assert (item.status, item.closed_at, item.closed_by, item.verification_note) == (
        "open",
        None,
        None,
        "",
    )
    # the old note survives in the history
    assert any(h.verification_note == "ok" for h in item.history.all())


@pytest.mark.parametrize("status", ["open", "in_progress"])
def test_it_refuses_to_reopen_an_item_that_is_not_closed(status):
    item = ActionItemFactory(status=status)
    with pytest.raises(ServiceError):
        svc.reopen_action_item(item=item, by=item.owner)


def test_closing_an_item_of_an_incident_adds_a_timeline_entry(incident):
    item = ActionItemFactory(incident=incident)
    svc.complete_action_item(item=item, by=item.owner, verification_note="Alert fired in drill.")
    entry = TimelineEntry.objects.filter(incident=incident, kind="action").latest("at")
    assert item.title in entry.body and "Alert fired in drill." in entry.body


def test_it_updates_fields_and_refuses_bad_values():
    item = ActionItemFactory()
    svc.update_action_item(
        item=item, by=item.owner, changes={"title": "New title", "priority": "p1"}
    )
    item.refresh_from_db()
    assert (item.title, item.priority) == ("New title", "p1")
    with pytest.raises(ServiceError) as exc:
        svc.update_action_item(
            item=item,
            by=item.owner,
            changes={
                "title": " ",
                "estimated_hours": -1,
                "due_on": timezone.localdate() - timedelta(days=1),
            },
        )
    assert set(exc.value.message_dict) == {"title", "estimated_hours", "due_on"}
    with pytest.raises(ServiceError):
        svc.update_action_item(item=item, by=item.owner, changes={"status": "done"})


def test_only_a_manager_reassigns_items_in_bulk_all_or_nothing():
    manager = UserFactory()
    mine = TeamFactory(manager=manager)
    other = TeamFactory()
    a, b = ActionItemFactory(team=mine), ActionItemFactory(team=mine)
    foreign = ActionItemFactory(team=other)
    target = UserFactory()
    assert svc.bulk_reassign_action_items(items=[a, b], by=manager, owner=target) == 2
    assert set(ActionItem.objects.filter(owner=target).values_list("pk", flat=True)) == {a.pk, b.pk}
    with pytest.raises(NotAllowed):
        svc.bulk_reassign_action_items(items=[a, foreign], by=manager, owner=UserFactory())
    a.refresh_from_db()
    assert a.owner == target  # nothing changed by the refused call


def test_an_owner_may_hand_over_their_item_but_a_stranger_may_not():
    item = ActionItemFactory()
    with pytest.raises(NotAllowed):
        svc.reassign_action_item(item=item, by=UserFactory(), owner=UserFactory())
    new = UserFactory()
    svc.reassign_action_item(item=item, by=item.owner, owner=new)
    item.refresh_from_db()
    assert item.owner == new


def test_soft_delete_keeps_the_row_and_refuses_later_moves():
    item = ActionItemFactory()
    svc.delete_action_item(item=item, by=item.owner)
    assert ActionItem.objects.filter(pk=item.pk, is_deleted=True).exists()
    with pytest.raises(ServiceError):
        svc.start_action_item(item=item, by=item.owner)
