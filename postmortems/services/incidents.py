"""Incident lifecycle: filing, editing, status changes, timeline notes, soft delete."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from metrics_link.models import Alert, Deploy, Service
from metrics_link.services.catalog import get_or_create_service
from metrics_link.times import EARLIEST

from .. import permissions as perms
from ..display import display_name
from ..models import Incident, TimelineEntry
from ..models.incidents import Provenance, Severity
from ..selectors import whys as why_selectors
from .errors import ServiceError

TITLE_REQUIRED = "Give the incident a title: what is broken, in a few words."
SERVICE_REQUIRED = "Name at least one affected service."
TIMES_OUT_OF_ORDER = "{later} ({later_at}) cannot be before {earlier} ({earlier_at})."
IN_FUTURE = "{field} cannot be in the future."
BEFORE_1970 = "{field} cannot be before 1970-01-01."
ILLEGAL_TRANSITION = "An incident that is {current} cannot move to {target}."
CLOSE_REASON_REQUIRED = "Say why the incident is closed: resolved, false alarm or duplicate."
DUPLICATE_TARGET_REQUIRED = "A duplicate must name the incident it duplicates."
DUPLICATE_OF_ITSELF = "An incident cannot be a duplicate of itself."
NOTE_REQUIRED = "A note needs some text."
SEVERITY_INVALID = "Choose a severity from sev1 (critical) to sev4 (low)."
VISIBILITY_INVALID = "Visibility is public or restricted."
STATUS_INVALID = "Status is investigating, mitigated, resolved or closed."
TOO_LONG = "Keep it under {n} characters."
NOT_A_PERSON = "Choose an active person."
MAX_TITLE = 200
MAX_TEXT = 20000

# Which status may follow which. Reopening (back to investigating) is always allowed.
TRANSITIONS: dict[str, set[str]] = {
    "investigating": {"mitigated", "resolved", "closed"},
    "mitigated": {"investigating", "resolved", "closed"},
    "resolved": {"investigating", "mitigated", "closed"},
    "closed": {"investigating"},
}


def why_tree_gate(*, incident: Incident, reason: str) -> list[str]:
    """A resolved incident needs its why tree complete (false alarms need none)."""
    if reason != Incident.CloseReason.RESOLVED:
        return []
    return why_selectors.gaps_of(why_selectors.load_tree(incident))


# The gates on closing. Each is called as gate(incident=..., reason=...) and returns a list of
# messages saying what is missing.
CLOSE_GATES: list[Callable[..., list[str]]] = [why_tree_gate]

# Sent on commit after an incident is opened / its start time changes, with `incident_id`
# (services/suspects adds the deploys in the window to the timeline). A signal, not an import:
# services/suspects imports this module.
incident_opened = Signal()
incident_start_changed = Signal()

_TIME_FIELDS = [
    ("started_at", "Start"),
    ("detected_at", "Detection"),
    ("mitigated_at", "Mitigation"),
    ("resolved_at", "Resolution"),
]


def _fmt(dt: datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


def validate_times(values: dict[str, datetime | None]) -> None:
    """Times must be in order: started ≤ detected, started ≤ mitigated ≤ resolved."""
    errors: dict[str, list[str]] = {}
    now = timezone.now() + timedelta(minutes=5)  # tolerate clock skew
    for field, label in _TIME_FIELDS:
        value = values.get(field)
        if value and value > now:
            errors.setdefault(field, []).append(IN_FUTURE.format(field=label))
        elif value and value < EARLIEST:  # Go's zero time and typos; stored, they break windows
            errors.setdefault(field, []).append(BEFORE_1970.format(field=label))
    started = values.get("started_at")
    pairs = [
        ("started_at", "detected_at"),
        ("started_at", "mitigated_at"),
        ("started_at", "resolved_at"),
        ("mitigated_at", "resolved_at"),
    ]
    labels = dict(_TIME_FIELDS)
    for earlier, later in pairs:
        a, b = values.get(earlier), values.get(later)
        if a and b and b < a:
            errors.setdefault(later, []).append(
                TIMES_OUT_OF_ORDER.format(
                    later=labels[later],
                    later_at=_fmt(b),
                    earlier=labels[earlier],
                    earlier_at=_fmt(a),
                )
            )
    if not started:
        errors.setdefault("started_at", []).append("The start time is required.")
    if errors:
        raise ServiceError(errors)


def field_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Check the plain fields an incident service is given, whoever calls it (page, API, admin,
    alert, command): choices, lengths, people. Returns {field: [messages]} for the bad ones."""
    errors: dict[str, list[str]] = {}
    if "title" in values:
        title = values["title"]
        if not isinstance(title, str) or not title.strip():
            errors["title"] = [TITLE_REQUIRED]
        elif len(title.strip()) > MAX_TITLE:
            errors["title"] = [TOO_LONG.format(n=MAX_TITLE)]
    if "severity" in values and values["severity"] not in Severity.values:
        errors["severity"] = [SEVERITY_INVALID]
    if "visibility" in values and values["visibility"] not in Incident.Visibility.values:
        errors["visibility"] = [VISIBILITY_INVALID]
    for field in ("impact", "summary"):
        if field in values:
            text = values[field]
            if not isinstance(text, str):
                errors[field] = ["Write text."]
            elif len(text) > MAX_TEXT:
                errors[field] = [TOO_LONG.format(n=MAX_TEXT)]
    for field in ("commander", "reporter"):
        person = values.get(field)
        if person is not None and not (hasattr(person, "is_active") and person.pk):
            errors[field] = [NOT_A_PERSON]
    for field, _label in _TIME_FIELDS:
        if (
            field in values
            and values[field] is not None
            and not isinstance(values[field], datetime)
        ):
            errors[field] = ["Give a date and time."]
    return errors


def add_timeline_entry(
    *,
    incident: Incident,
    body: str,
    kind: str = TimelineEntry.Kind.NOTE,
    author: User | None = None,
    at: datetime | None = None,
    source: str = TimelineEntry.Source.HUMAN,
    deploy: Deploy | None = None,
    alert: Alert | None = None,
    dedupe_key: str = "",
    starred: bool = False,
) -> TimelineEntry:
    """Add one entry. Machine entries with a `dedupe_key` are added once, however often called."""
    values = {
        "body": body,
        "kind": kind,
        "author": author,
        "at": at or timezone.now(),
        "source": source,
        "deploy": deploy,
        "alert": alert,
        "starred": starred,
    }
    if dedupe_key:
        entry, _ = TimelineEntry.objects.get_or_create(
            incident=incident, dedupe_key=dedupe_key, defaults=values
        )
        return entry
    return TimelineEntry.objects.create(incident=incident, **values)


def _resolve_services(slugs_or_services: Iterable[Any]) -> list[Service]:
    services = []
    for item in slugs_or_services:
        services.append(
            item
            if isinstance(item, Service)
            # A name typed on the filing form ("Checkout API") keeps its spelling as the name.
            else get_or_create_service(slug=str(item), name=str(item).strip())
        )
    return services


@transaction.atomic
def open_incident(
    *,
    title: str,
    severity: str,
    services: Iterable[Any],
    reporter: User | None = None,
    commander: User | None = None,
    responders: Iterable[User] = (),
    impact: str = "",
    summary: str = "",
    visibility: str = Incident.Visibility.PUBLIC,
    started_at: datetime | None = None,
    started_at_source: str = Provenance.HUMAN,
    detected_at: datetime | None = None,
    detected_at_source: str = Provenance.HUMAN,
    origin: str = Incident.Origin.WEB,
) -> Incident:
    """File an incident. Only title, severity and one service are required; start defaults to now."""
    title = (title or "").strip() if isinstance(title, str) else title
    errors: dict[str, list[str]] = {}
    errors.update(
        field_errors(
            {
                "title": title,
                "severity": severity,
                "visibility": visibility,
                "impact": impact,
                "summary": summary,
                "commander": commander,
                "reporter": reporter,
            }
        )
    )
    service_list = _resolve_services(services)
    if not service_list:
        errors["services"] = [SERVICE_REQUIRED]
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    started_at = started_at or now
    if detected_at is None:
        # Filed by a person: detected when filed (or at the start, for a start given later than now
        # within the allowed clock skew). From an alert: the alert's start is both.
        detected_at = max(now, started_at) if detected_at_source == Provenance.HUMAN else started_at
    validate_times({"started_at": started_at, "detected_at": detected_at})
    incident = Incident.objects.create(
        title=title,
        severity=severity,
        impact=impact.strip(),
        summary=summary.strip(),
        visibility=visibility,
        started_at=started_at,
        started_at_source=started_at_source,
        detected_at=detected_at,
        detected_at_source=detected_at_source,
        reporter=reporter,
        commander=commander or reporter,
        origin=origin,
    )
    incident.services.set(service_list)
    if responders:
        incident.responders.set(list(responders))
    who = reporter.get_username() if reporter else "an alert" if origin == "alert" else "someone"
    add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.STATUS,
        body=f"Incident filed by {who} as {severity.upper()}: investigating.",
        author=reporter,
        at=now,
        source=TimelineEntry.Source.MACHINE,
    )
    transaction.on_commit(lambda: incident_opened.send(sender=Incident, incident_id=incident.pk))
    return incident


def announce_start_changed(incident_id: int) -> None:
    """Tell the features that follow an incident's window (on commit) that its start moved."""
    transaction.on_commit(
        lambda: incident_start_changed.send(sender=Incident, incident_id=incident_id)
    )


# The fields update_incident takes (the edit form shows them, in this order).
EDITABLE_FIELDS = (
    "title",
    "severity",
    "impact",
    "summary",
    "visibility",
    "commander",
    "reporter",
    "started_at",
    "detected_at",
    "mitigated_at",
    "resolved_at",
)


@transaction.atomic
def update_incident(
    *,
    incident: Incident,
    by: User,
    services: Iterable[Any] | None = None,
    responders: Iterable[User] | None = None,
    **changes: Any,
) -> Incident:
    """Edit fields. Time changes are validated in order and logged to the timeline."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ServiceError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    perms.require_incident_editor(by, incident)
    if "visibility" in changes and changes["visibility"] != incident.visibility:
        perms.require(
            perms.can_change_visibility(by, incident),
            perms.NOT_COMMANDER.format(pk=incident.pk),
        )
    errors = field_errors(changes)
    if errors:
        raise ServiceError(errors)
    if "title" in changes:
        changes["title"] = changes["title"].strip()
    times = {f: changes.get(f, getattr(incident, f)) for f, _ in _TIME_FIELDS}
    validate_times(times)
    logged: list[str] = []
    start_changed = False
    for field, value in changes.items():
        old = getattr(incident, field)
        if old == value:
            continue
        setattr(incident, field, value)
        if field.endswith("_at"):
            setattr(incident, f"{field}_source", Provenance.HUMAN)
            label = dict(_TIME_FIELDS)[field]
            logged.append(
                f"{label} time set to {_fmt(value)}" if value else f"{label} time cleared"
            )
            start_changed |= field == "started_at"
        elif field == "severity":
            logged.append(f"Severity changed from {str(old).upper()} to {str(value).upper()}")
        elif field == "visibility":
            logged.append(f"Visibility changed to {value}")
    incident.save()
    if services is not None:
        service_list = _resolve_services(services)
        if not service_list:
            raise ServiceError({"services": [SERVICE_REQUIRED]})
        incident.services.set(service_list)
    if responders is not None:
        incident.responders.set(list(responders))
    for line in logged:
        add_timeline_entry(
            incident=incident,
            kind=TimelineEntry.Kind.EDIT,
            body=f"{line}.",
            author=by,
            source=TimelineEntry.Source.MACHINE,
        )
    if start_changed:
        announce_start_changed(incident.pk)
    return incident


@transaction.atomic
def change_status(
    *,
    incident: Incident,
    to: str,
    by: User | None,
    reason: str = "",
    duplicate_of: Incident | None = None,
    at: datetime | None = None,
    note: str = "",
) -> Incident:
    """Move an incident along investigating → mitigated → resolved → closed (or reopen it)."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    perms.require_incident_editor(by, incident)
    if to not in Incident.Status.values:
        raise ServiceError({"status": [STATUS_INVALID]})
    current = incident.status
    if to not in TRANSITIONS.get(current, set()):
        raise ServiceError(ILLEGAL_TRANSITION.format(current=current, target=to))
    now = at or timezone.now()
    if to == Incident.Status.CLOSED:
        if reason not in Incident.CloseReason.values:
            raise ServiceError({"reason": [CLOSE_REASON_REQUIRED]})
        if reason == Incident.CloseReason.DUPLICATE:
            if duplicate_of is None:
                raise ServiceError({"duplicate_of": [DUPLICATE_TARGET_REQUIRED]})
            if duplicate_of.pk == incident.pk:
                raise ServiceError({"duplicate_of": [DUPLICATE_OF_ITSELF]})
        if reason == Incident.CloseReason.RESOLVED:
            missing = [m for gate in CLOSE_GATES for m in gate(incident=incident, reason=reason)]
            if missing:
                raise ServiceError(missing)
        incident.close_reason = reason
        incident.duplicate_of = duplicate_of if reason == Incident.CloseReason.DUPLICATE else None
        incident.closed_at = now
        # Closing implies the problem is over: fill the missing milestones with the closing time.
        if reason == Incident.CloseReason.RESOLVED and not incident.resolved_at:
            incident.resolved_at = now
            incident.resolved_at_source = Provenance.HUMAN
    elif to == Incident.Status.INVESTIGATING:
        incident.closed_at = None
        incident.close_reason = ""
        incident.duplicate_of = None
    if to == Incident.Status.MITIGATED and not incident.mitigated_at:
        incident.mitigated_at = now
        incident.mitigated_at_source = Provenance.HUMAN
    if to == Incident.Status.RESOLVED:
        incident.resolved_at = incident.resolved_at or now
        incident.mitigated_at = incident.mitigated_at or incident.resolved_at
    validate_times({f: getattr(incident, f) for f, _ in _TIME_FIELDS})
    incident.status = to
    incident.save()
    words = {
        "investigating": "Reopened: investigating"
        if current in ("resolved", "closed")
        else "Investigating",
        "mitigated": "Mitigated",
        "resolved": "Resolved",
        "closed": {
            "resolved": "Closed",
            "false_alarm": "Closed as a false alarm",
            "duplicate": f"Closed as a duplicate of #{duplicate_of.pk if duplicate_of else ''}",
        }.get(reason, "Closed"),
    }
    body = f"{words[to]}."
    if note.strip():
        body += f" {note.strip()}"
    add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.STATUS,
        body=body,
        author=by,
        at=now,
        source=TimelineEntry.Source.HUMAN if by else TimelineEntry.Source.MACHINE,
    )
    return incident


def add_note(
    *,
    incident: Incident,
    author: User,
    body: str,
    at: datetime | None = None,
    starred: bool = False,
) -> TimelineEntry:
    """A timeline note: anyone who can read the incident may add one."""
    perms.require(perms.can_add_note(author, incident), perms.incident_refusal(incident))
    body = (body or "").strip() if isinstance(body, str) else ""
    if not body:
        raise ServiceError({"body": [NOTE_REQUIRED]})
    if len(body) > MAX_TEXT:
        raise ServiceError({"body": [TOO_LONG.format(n=MAX_TEXT)]})
    if at and at > timezone.now() + timedelta(minutes=5):
        raise ServiceError({"at": [IN_FUTURE.format(field="A note's time")]})
    return add_timeline_entry(incident=incident, body=body, author=author, at=at, starred=starred)


def set_starred(*, entry: TimelineEntry, starred: bool, by: User | None = None) -> TimelineEntry:
    """Star an entry for the postmortem's timeline: as editing the incident."""
    perms.require_incident_editor(by, entry.incident)
    if entry.starred != starred:
        entry.starred = starred
        entry.save(update_fields=["starred"])
    return entry


@transaction.atomic
def delete_incident(*, incident: Incident, by: User | None) -> Incident:
    """Soft delete: hidden everywhere, kept in the database and its history."""
    perms.require_incident_editor(by, incident)
    incident.is_deleted = True
    incident.deleted_at = timezone.now()
    # django-simple-history reads it on save (the attribute is not declared on the model).
    incident._change_reason = f"deleted by {by.get_username() if by else 'system'}"  # type: ignore[attr-defined]
    incident.save(update_fields=["is_deleted", "deleted_at", "updated_at"])
    return incident


JOINED = "{who} joined as a responder."


@transaction.atomic
def join_incident(*, incident: Incident, by: User) -> Incident:
    """Join as a responder (anyone who can read the incident); the timeline says so. Joining
    twice changes nothing."""
    perms.require(perms.can_join_incident(by, incident), perms.CANNOT_JOIN.format(pk=incident.pk))
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if perms.is_incident_person(by, incident):
        return incident
    incident.responders.add(by)
    add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.EDIT,
        body=JOINED.format(who=display_name(by)),
        author=by,
        source=TimelineEntry.Source.MACHINE,
    )
    return incident
