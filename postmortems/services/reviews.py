"""Writes of the reviews feature: weekly reviews (build, publish, mail), retrospectives,
recurrences (confirm/dismiss) and experiments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from metrics_link.links import absolutize_html, site_url
from metrics_link.models import Team

from .. import permissions as perms
from .. import reviews_metrics as rm
from ..models import (
    ActionItem,
    Experiment,
    Incident,
    Recurrence,
    RetroItem,
    Retrospective,
    RetroVote,
    WeeklyReview,
)
from ..selectors import reviews as review_selectors
from ..selectors.recurrences import recurrence_candidates, recurrence_candidates_many
from ..selectors.weekly import week_bounds
from .actions import create_action_item
from .errors import ServiceError
from .mail import queue_mail, templated_email

NOT_A_TEAM_MEMBER = "Only the team's members and its manager can change its retrospectives."
REASON_REQUIRED = "Say why, in a sentence: the next reader needs the reason."


# --------------------------------------------------------------------------- weekly review


def default_week(today: date | None = None) -> str:
    return rm.previous_iso_week(today or timezone.localdate())


@transaction.atomic
def build_weekly_review(
    *, week: str | None = None, rebuild: bool = False, publish: bool = True, mail: bool = True
) -> tuple[WeeklyReview, bool]:
    """Build the review of an ISO week (default: last week). Returns (review, built).

    Idempotent: an existing week keeps its first snapshot (readers saw it; the mail quoted it)
    unless `rebuild` is given. Publishing mails all staff once, after commit."""
    try:
        monday = rm.parse_iso_week(week or default_week())
    except ValueError as exc:
        raise ServiceError({"week": [str(exc)]}) from None
    iso = rm.iso_week_of(monday)
    if monday + timedelta(days=7) > timezone.localdate():
        raise ServiceError({"week": [f"{iso} has not ended yet; build it from its Monday after."]})
    existing = WeeklyReview.objects.select_for_update().filter(iso_week=iso).first()
    if existing and not rebuild:
        return existing, False
    # Suggest recurrences for the week's incidents first, so the snapshot can count them.
    _, start, end = week_bounds(iso)
    suggest_recurrences_for_many(
        incidents=list(Incident.objects.alive().filter(started_at__gte=start, started_at__lt=end))
    )
    snapshot = review_selectors.compute_weekly_review(iso)
    if existing:
        existing.snapshot = snapshot
        existing.generated_at = timezone.now()
        existing.save(update_fields=["snapshot", "generated_at"])
        review = existing
    else:
        try:
            with transaction.atomic():
                review = WeeklyReview.objects.create(
                    iso_week=iso, week_start=monday, generated_at=timezone.now(), snapshot=snapshot
                )
        except IntegrityError:  # another worker built the same week between our read and write
            return WeeklyReview.objects.get(iso_week=iso), False
    if publish:
        publish_weekly_review(review=review, mail=mail)
    return review, True


@transaction.atomic
def publish_weekly_review(*, review: WeeklyReview, mail: bool = True) -> WeeklyReview:
    """Publish to all staff; the mail is queued in the outbox once, in this transaction, and
    sent after commit (`mail=False`: never, e.g. for back-filled weeks nobody should be mailed
    about)."""
    if not review.published:
        review.published = True
        review.published_at = timezone.now()
        review.save(update_fields=["published", "published_at"])
    if mail and review.mailed_at is None:
        mail_weekly_review(review_id=review.pk)
    return review


def mail_weekly_review(*, review_id: int) -> bool:
    """Queue the review's mail to ALL_STAFF_EMAIL (text + HTML) in the outbox unless it already
    was; `mailed_at` records that hand-over (the outbox row records the sending)."""
    with transaction.atomic():
        review = WeeklyReview.objects.select_for_update().get(pk=review_id)
        if review.mailed_at is not None or not review.published:
            return False
        ctx = {"s": review.snapshot, "review": review, "site_url": site_url()}
        html = render_to_string("postmortems/reviews/email.html", ctx)
        message = templated_email(
            subject=f"Weekly review {review.iso_week}: " + review.snapshot["summary"][0],
            template="postmortems/reviews/email",
            context=ctx,
            to=[settings.ALL_STAFF_EMAIL],
            html=absolutize_html(html),
        )
        queue_mail(message, dedupe_key=f"weekly-review:{review.pk}:mail")
        review.mailed_at = timezone.now()
        review.save(update_fields=["mailed_at"])
    return True


# --------------------------------------------------------------------------- recurrences


@transaction.atomic
def suggest_recurrences(*, incident: Incident) -> list[Recurrence]:
    """Store a suggested Recurrence per candidate not yet recorded (never revives a dismissal)."""
    created = []
    for earlier, service, category in recurrence_candidates(incident):
        row, was_new = Recurrence.objects.get_or_create(
            incident=incident,
            earlier=earlier,
            defaults={"service": service, "category": category},
        )
        if was_new:
            created.append(row)
    return created


@transaction.atomic
def suggest_recurrences_for_many(*, incidents: Sequence[Incident]) -> list[Recurrence]:
    """`suggest_recurrences` for many incidents (a week's) in a fixed number of queries."""
    candidates = recurrence_candidates_many(incidents)
    known = set(
        Recurrence.objects.filter(incident_id__in=list(candidates)).values_list(
            "incident_id", "earlier_id"
        )
    )
    by_pk = {i.pk: i for i in incidents}
    new = [
        Recurrence(incident=by_pk[pk], earlier=earlier, service=service, category=category)
        for pk, found in candidates.items()
        for earlier, service, category in found
        if (pk, earlier.pk) not in known
    ]
    if not new:
        return []
    try:
        with transaction.atomic():
            return list(bulk_create_with_history(new, Recurrence))
    except IntegrityError:  # a concurrent writer stored one of them: go pair by pair
        return [row for i in incidents for row in suggest_recurrences(incident=i)]


@transaction.atomic
def decide_recurrence(
    *, incident: Incident, earlier: Incident, by: User, confirm: bool, reason: str
) -> Recurrence:
    """A person confirms (the earlier fixes did not prevent it) or dismisses a recurrence.

    The caller got both incidents through the visibility accessor; the pair must be a stored
    suggestion or a current candidate."""
    perms.require_incident_editor(by, incident)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError({"reason": [REASON_REQUIRED]})
    row = Recurrence.objects.select_for_update().filter(incident=incident, earlier=earlier).first()
    if row is None:
        match = [c for c in recurrence_candidates(incident) if c[0] == earlier]
        if not match:
            raise ServiceError(
                f"#{earlier.pk} is not a recurrence candidate of #{incident.pk}: they share no "
                "service and cause category, or its fixes were not all done."
            )
        _, service, category = match[0]
        row = Recurrence(incident=incident, earlier=earlier, service=service, category=category)
    row.status = Recurrence.Status.CONFIRMED if confirm else Recurrence.Status.DISMISSED
    row.reason = reason
    row.decided_by = by
    row.decided_at = timezone.now()
    row.save()
    return row


# --------------------------------------------------------------------------- retrospectives


MAX_NAME = 200
MAX_ITEM = 5000


def _require_member(
    user: User, *, retro: Retrospective | None = None, team: Team | None = None
) -> None:
    perms.require(perms.can_edit_retro(user, retro=retro, team=team), NOT_A_TEAM_MEMBER)


def _check_dates(sprint_start: date | None, sprint_end: date | None) -> None:
    if sprint_start and sprint_end and sprint_end < sprint_start:
        raise ServiceError({"sprint_end": ["The sprint ends after it starts."]})


@transaction.atomic
def create_retrospective(
    *,
    team: Team,
    name: str,
    sprint_start: date,
    sprint_end: date,
    created_by: User,
    facilitator: User | None = None,
    summary: str = "",
) -> Retrospective:
    _require_member(created_by, team=team)
    name = (name or "").strip()
    if not name:
        raise ServiceError({"name": ["Name the retrospective, e.g. “Sprint 48”."]})
    if len(name) > MAX_NAME:
        raise ServiceError({"name": [f"Keep the name under {MAX_NAME} characters."]})
    _check_dates(sprint_start, sprint_end)
    return Retrospective.objects.create(
        team=team,
        name=name,
        sprint_start=sprint_start,
        sprint_end=sprint_end,
        facilitator=facilitator or created_by,
        summary=summary,
        created_by=created_by,
    )


@transaction.atomic
def update_retrospective(*, retro: Retrospective, by: User, **fields: Any) -> Retrospective:
    _require_member(by, retro=retro)
    allowed = {"name", "sprint_start", "sprint_end", "facilitator", "summary"}
    for key, value in fields.items():
        if key not in allowed:
            raise ServiceError(f"Unknown field {key}.")
        setattr(retro, key, value)
    if not isinstance(retro.name, str) or not retro.name.strip():
        raise ServiceError({"name": ["Name the retrospective."]})
    if len(retro.name) > MAX_NAME:
        raise ServiceError({"name": [f"Keep the name under {MAX_NAME} characters."]})
    _check_dates(retro.sprint_start, retro.sprint_end)
    retro.save()
    return retro


@transaction.atomic
def add_retro_item(*, retro: Retrospective, column: str, text: str, author: User) -> RetroItem:
    _require_member(author, retro=retro)
    if column not in RetroItem.Column.values:
        raise ServiceError({"column": ["Choose start, stop, continue or learned."]})
    text = (text or "").strip()
    if not text:
        raise ServiceError({"text": ["Write the item."]})
    if len(text) > MAX_ITEM:
        raise ServiceError({"text": [f"Keep it under {MAX_ITEM} characters."]})
    return RetroItem.objects.create(retrospective=retro, column=column, text=text, author=author)


@transaction.atomic
def toggle_retro_vote(*, item: RetroItem, user: User) -> bool:
    """Vote for an item, or take the vote back. Returns whether the user now votes for it.
    One vote per person per item: the unique constraint decides under concurrency."""
    _require_member(user, retro=item.retrospective)
    deleted, _ = RetroVote.objects.filter(item=item, user=user).delete()
    if deleted:
        return False
    try:
        with transaction.atomic():
            RetroVote.objects.create(item=item, user=user)
    except IntegrityError:
        pass
    return True


@transaction.atomic
def add_retro_action_item(
    *,
    retro: Retrospective,
    title: str,
    created_by: User,
    owner: User | None = None,
    due_on: date | None = None,
    **extra: Any,
) -> ActionItem:
    """An action item in the same tracker as incident actions, owned by the retro's team."""
    _require_member(created_by, retro=retro)
    return create_action_item(
        title=title,
        created_by=created_by,
        owner=owner,
        team=retro.team,
        due_on=due_on,
        retrospective=retro,
        **extra,
    )


@transaction.atomic
def publish_retrospective(*, retro: Retrospective, by: User) -> Retrospective:
    _require_member(by, retro=retro)
    if not retro.items.alive().exists():
        raise ServiceError("Add at least one item before publishing.")
    if not retro.published:
        retro.published = True
        retro.published_at = timezone.now()
        retro.save(update_fields=["published", "published_at", "updated_at"])
    return retro


# --------------------------------------------------------------------------- experiments


def _check_experiment(exp: Experiment) -> None:
    errors = {}
    if not exp.name.strip():
        errors["name"] = ["Name the experiment."]
    if exp.control_conversions > exp.control_trials:
        errors["control_conversions"] = ["Conversions cannot exceed trials."]
    if exp.experiment_conversions > exp.experiment_trials:
        errors["experiment_conversions"] = ["Conversions cannot exceed trials."]
    if not 0 < exp.split < 1:
        errors["split"] = [
            "The split is the experiment arm's share, between 0 and 1 (0.5 = 50/50)."
        ]
    if exp.started_on and exp.ended_on and exp.ended_on < exp.started_on:
        errors["ended_on"] = ["An experiment ends after it starts."]
    if errors:
        raise ServiceError(errors)


@transaction.atomic
def create_experiment(*, name: str, owner: User | None = None, **fields: Any) -> Experiment:
    if Experiment.objects.filter(name=(name or "").strip()).exists():
        raise ServiceError({"name": ["An experiment with this name exists; update its counts."]})
    exp = Experiment(name=(name or "").strip(), owner=owner, **fields)
    _check_experiment(exp)
    exp.save()
    return exp


@transaction.atomic
def update_experiment(*, experiment: Experiment, **fields: Any) -> Experiment:
    exp = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if Experiment.objects.filter(name=fields["name"]).exclude(pk=exp.pk).exists():
            raise ServiceError({"name": ["Another experiment has this name."]})
    for key, value in fields.items():
        setattr(exp, key, value)
    _check_experiment(exp)
    exp.save()
    return exp
