"""Reads of retrospectives: who may read which (published: all staff; drafts: the team), the
list, one retro's board and its action items."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from ..models import ActionItem, RetroItem, Retrospective


def retros_visible_to(user: User) -> QuerySet[Retrospective]:
    """Published retros are for all staff; drafts for their team (members, manager) only."""
    qs = Retrospective.objects.alive()
    if user.is_superuser:
        return qs
    mine = Q(team__members=user) | Q(team__manager=user)
    return qs.filter(Q(published=True) | mine).distinct()


def retro_list(user: User) -> QuerySet[Retrospective]:
    return (
        retros_visible_to(user)
        .select_related("team", "facilitator")
        .annotate(
            # Counts of live rows: a join condition, which `alive()` cannot express.
            item_count=Count("items", filter=Q(items__is_deleted=False), distinct=True),
            action_count=Count(
                "action_items", filter=Q(action_items__is_deleted=False), distinct=True
            ),
        )
        .order_by("team__name", "-sprint_start")
    )


def get_retro_for(user: User, pk: Any) -> Retrospective:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such retrospective.") from None
    retro = retros_visible_to(user).select_related("team", "facilitator").filter(pk=pk).first()
    if retro is None:
        raise Http404("No such retrospective.")
    return retro


def retro_board(retro: Retrospective, user: User | AnonymousUser) -> list[dict[str, Any]]:
    """The four columns with their items (most votes first) and whether `user` voted."""
    items = (
        RetroItem.objects.alive()
        .filter(retrospective=retro)
        .select_related("author")
        .annotate(vote_count=Count("votes"))
        .order_by("-vote_count", "id")
    )
    mine: set[int] = set()
    if user.is_authenticated:
        mine = set(
            RetroItem.objects.filter(retrospective=retro, votes__user=user).values_list(
                "pk", flat=True
            )
        )
    columns: dict[str, list[RetroItem]] = {c: [] for c in RetroItem.Column.values}
    for item in items:
        item.voted = item.pk in mine  # type: ignore[attr-defined]  # a flag for the template
        columns[item.column].append(item)
    return [
        {"key": key, "label": RetroItem.Column(key).label, "items": columns[key]}
        for key in RetroItem.Column.values
    ]


def retro_action_items(retro: Retrospective) -> QuerySet[ActionItem]:
    return (
        ActionItem.objects.alive()
        .filter(retrospective=retro)
        .select_related("owner", "team")
        .order_by("status", "due_on", "id")
    )
