"""Writes of the postmortem documents feature: generate, edit, review, publish.

Rules (who/when is recorded as a PostmortemEvent for every step):

* One postmortem per incident. `generate_draft` builds every section; generated sections come
  from the incident's data, written sections start empty (the editor shows the template's help).
* One editor saves every section at once (`save_draft`). The draft carries a `version`, bumped by
  every change of the text; a save names the version it read. A stale save writes nothing and
  raises StaleDraft with, per section, their newer text and yours (merged where only one side
  changed it, using the text at the version the writer read, from simple-history), so nothing is
  lost and nobody is overwritten silently.
* Regeneration never overwrites team text (decision: *refuse*). A generated section the team
  edited is listed in `edited_sections`; `regenerate_section` on it raises a ServiceError, and
  `regenerate_draft` refreshes only untouched sections and reports the ones it kept.
* draft → in_review (`submit_for_review`: blameless check over the whole document; high findings
  need an override reason, recorded) → published (`publish`: the approvals the severity requires,
  setting POSTMORTEM_APPROVALS_REQUIRED, from named reviewers in the current round).
  `request_changes` sends it back to draft. Submitting can carry the editor's text and the chosen
  reviewers (one form, one atomic step), and on commit mails each named reviewer
  (`notify_reviewers`; Slack too for public incidents when configured). Editing a published
  postmortem starts a new draft (round + 1) while readers keep seeing the latest published version.
* Publishing freezes an immutable PostmortemVersion and, on commit, mails it (to ALL_STAFF_EMAIL
  for public incidents; to the incident's own people for restricted ones) and posts to Slack
  (public incidents only) when SLACK_WEBHOOK_URL is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib.auth.models import User
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.utils import timezone

from .. import permissions as perms
from ..blameless import check_blameless, has_high
from ..display import display_name
from ..markdown import render_markdown
from ..models import Incident
from ..models.documents import (
    GENERATED_KEYS,
    SECTION_TITLES,
    SECTIONS,
    Postmortem,
    PostmortemEvent,
    PostmortemVersion,
)
from ..selectors.drafts import (
    GENERATORS,
    approvals_in_round,
    approvals_required,
    compose_markdown,
    get_default_template,
)
from ..selectors.people import blameless_people
from .draft_conflicts import StaleDraft, clean_text, merge, sections_at
from .errors import ServiceError
from .publishing import notify_reviewers, queue_publication_email, queue_publication_slack

UNKNOWN_SECTION = "There is no section “{key}”."
NOT_EDITABLE_IN_REVIEW = "The postmortem is in review; ask a reviewer to request changes first."
TEAM_TEXT_KEPT = (
    "The team edited “{title}”; regenerating would overwrite their text. "
    "Edit it by hand, or clear it and save to let it be generated again."
)
ONLY_DRAFT_SUBMITS = "Only a draft can be submitted for review (this one is {status})."
REVIEWERS_NEEDED = "Name at least {n} reviewer{s}: a {sev} postmortem needs {n} approval{s}."
OVERRIDE_REQUIRED = (
    "The blameless check found {n} high-severity finding{s}. Reword them, or give a reason to "
    "submit anyway (it is recorded)."
)
NOT_IN_REVIEW = "The postmortem is not in review."
NOT_A_REVIEWER = "Only the named reviewers can approve or request changes."
MAX_SECTION = 100_000
COMMENT_REQUIRED = "Say what should change: the authors read your comment."
APPROVALS_MISSING = "A {sev} postmortem needs {need} approval{s} before publishing; it has {have}."
EMPTY_DOCUMENT = "Write at least the summary before submitting."
SECTION_TOO_LONG = "“{title}” is too long: at most {n:,} characters (it has {have:,})."
MAX_SECTION_CHARS = 50_000


# ---------------------------------------------------------------------------
# Template and helpers
# ---------------------------------------------------------------------------


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def _event(
    postmortem: Postmortem, kind: str, by: User | None, comment: str = ""
) -> PostmortemEvent:
    return PostmortemEvent.objects.create(
        postmortem=postmortem,
        kind=kind,
        round=postmortem.round,
        by=by,
        at=timezone.now(),
        comment=comment,
    )


def _check_key(key: str) -> None:
    if key not in SECTION_TITLES:
        raise ServiceError(UNKNOWN_SECTION.format(key=key))


@transaction.atomic
def generate_draft(*, incident: Incident, by: User) -> Postmortem:
    """The incident's postmortem, generating the draft on first call (idempotent)."""
    existing = Postmortem.objects.filter(incident=incident).first()
    if existing is not None:
        return existing
    perms.require_incident_editor(by, incident)
    get_default_template()
    sections = {key: "" for key, _ in SECTIONS}
    for key, generate in GENERATORS.items():
        sections[key] = generate(incident)
    postmortem = Postmortem.objects.create(
        incident=incident, title=incident.title, sections=sections, created_by=by
    )
    _event(postmortem, PostmortemEvent.Kind.CREATED, by)
    return postmortem


def _reopen_if_published(postmortem: Postmortem, by: User) -> None:
    """Editing after publishing starts a new draft; the published version stays as it was."""
    if postmortem.status == Postmortem.Status.IN_REVIEW:
        raise ServiceError(NOT_EDITABLE_IN_REVIEW)
    if postmortem.status == Postmortem.Status.PUBLISHED:
        postmortem.status = Postmortem.Status.DRAFT
        postmortem.round += 1
        postmortem.blameless_override_reason = ""
        _event(postmortem, PostmortemEvent.Kind.REOPENED, by)


def _locked(postmortem: Postmortem) -> Postmortem:
    # Row lock: two reviewers approving at once, or an edit racing a publish, serialise here.
    return Postmortem.objects.select_for_update().get(pk=postmortem.pk)


def _editable(postmortem: Postmortem, by: User) -> Postmortem:
    """The locked row, if `by` may edit the draft (postmortems.permissions)."""
    pm = _locked(postmortem)
    perms.require(perms.can_edit_postmortem(by, pm), perms.incident_refusal(pm.incident))
    return pm


@transaction.atomic
def edit_section(*, postmortem: Postmortem, key: str, text: str, by: User) -> Postmortem:
    """Replace one section's Markdown. A generated section edited by hand is marked as team text;
    saving it empty hands it back to the generator."""
    _check_key(key)
    pm = _editable(postmortem, by)
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_SECTION:
        raise ServiceError({"text": [f"Keep a section under {MAX_SECTION:,} characters."]})
    if text == (pm.sections.get(key) or "").strip():
        return pm
    _reopen_if_published(pm, by)
    sections = dict(pm.sections)
    edited = [k for k in pm.edited_sections if k != key]
    if key in GENERATED_KEYS and not text:
        sections[key] = GENERATORS[key](pm.incident)
    else:
        sections[key] = text
        if key in GENERATED_KEYS:
            edited.append(key)
    pm.sections = sections
    pm.edited_sections = edited
    pm.version += 1
    pm.save()
    _event(pm, PostmortemEvent.Kind.EDITED, by, comment=SECTION_TITLES[key])
    return pm


def _clean_sections(sections: Mapping[str, str]) -> dict[str, str]:
    cleaned = {}
    for key, text in sections.items():
        _check_key(key)
        text = clean_text(text)
        if len(text) > MAX_SECTION_CHARS:
            raise ServiceError(
                {
                    key: [
                        SECTION_TOO_LONG.format(
                            title=SECTION_TITLES[key], n=MAX_SECTION_CHARS, have=len(text)
                        )
                    ]
                }
            )
        cleaned[key] = text
    return cleaned


def _same_people(pm: Postmortem, reviewers: list[User]) -> bool:
    return set(pm.reviewers.values_list("pk", flat=True)) == {u.pk for u in reviewers}


@transaction.atomic
def save_draft(
    *,
    postmortem: Postmortem,
    sections: Mapping[str, str],
    expected_version: int,
    by: User,
    reviewers: Iterable[User] | None = None,
) -> tuple[Postmortem, list[str]]:
    """Save every section the writer changed, in one step, if the draft is still at
    `expected_version`; else raise StaleDraft and write nothing. `reviewers` (when given) replaces
    the named reviewers. Returns the postmortem and the keys of the sections saved."""
    mine = _clean_sections(sections)
    pm = _editable(postmortem, by)
    # The version is compared under the row lock: of two saves that read the same version, the
    # second waits for the first, then sees the bumped version and is told, never overwriting it.
    if pm.version != expected_version:
        merged, conflicts = merge(pm, mine, sections_at(pm, expected_version))
        raise StaleDraft(pm, merged=merged, conflicts=conflicts)
    changed = [k for k, _ in SECTIONS if k in mine and mine[k] != clean_text(pm.sections.get(k))]
    reviewers = list(reviewers) if reviewers is not None else None
    new_reviewers = reviewers is not None and not _same_people(pm, reviewers)
    if (changed or new_reviewers) and pm.status == Postmortem.Status.IN_REVIEW:
        raise ServiceError(NOT_EDITABLE_IN_REVIEW)
    if changed:
        _reopen_if_published(pm, by)
        texts = dict(pm.sections)
        edited = [k for k in pm.edited_sections if k not in changed]
        for key in changed:
            if key in GENERATED_KEYS and not mine[key]:
                texts[key] = GENERATORS[key](pm.incident)  # cleared: back to the generator
            else:
                texts[key] = mine[key]
                if key in GENERATED_KEYS:
                    edited.append(key)
        pm.sections = texts
        pm.edited_sections = edited
        pm.version += 1
        pm.save()
        _event(
            pm,
            PostmortemEvent.Kind.EDITED,
            by,
            comment=", ".join(SECTION_TITLES[k] for k in changed),
        )
    if new_reviewers and reviewers is not None:
        pm = set_reviewers(postmortem=pm, reviewers=reviewers, by=by)
    return pm, changed


@transaction.atomic
def regenerate_section(*, postmortem: Postmortem, key: str, by: User) -> Postmortem:
    """Rebuild one generated section from the incident's data; refuses on team-edited text."""
    _check_key(key)
    if key not in GENERATED_KEYS:
        raise ServiceError(f"“{SECTION_TITLES[key]}” is written by the team, not generated.")
    pm = _editable(postmortem, by)
    if key in pm.edited_sections:
        raise ServiceError(TEAM_TEXT_KEPT.format(title=SECTION_TITLES[key]))
    fresh = GENERATORS[key](pm.incident)
    if fresh == pm.sections.get(key):
        return pm
    _reopen_if_published(pm, by)
    pm.sections = {**pm.sections, key: fresh}
    pm.version += 1
    pm.save()
    _event(pm, PostmortemEvent.Kind.EDITED, by, comment=f"{SECTION_TITLES[key]} regenerated")
    return pm


@transaction.atomic
def regenerate_draft(*, postmortem: Postmortem, by: User) -> tuple[Postmortem, list[str]]:
    """Regenerate every generated section the team has not edited; returns the keys kept."""
    pm = _editable(postmortem, by)
    kept = [k for k in GENERATORS if k in pm.edited_sections]
    fresh = {k: g(pm.incident) for k, g in GENERATORS.items() if k not in pm.edited_sections}
    if any(pm.sections.get(k) != v for k, v in fresh.items()):
        _reopen_if_published(pm, by)
        pm.sections = {**pm.sections, **fresh}
        pm.version += 1
        pm.save()
        _event(pm, PostmortemEvent.Kind.EDITED, by, comment="Generated sections refreshed")
    return pm, kept


@transaction.atomic
def save_and_regenerate(
    *,
    postmortem: Postmortem,
    sections: Mapping[str, str],
    expected_version: int,
    by: User,
    reviewers: Iterable[User] | None = None,
    key: str = "",
) -> tuple[Postmortem, list[str]]:
    """The editor's Regenerate buttons: save what the writer typed first (nothing is lost), then
    regenerate one generated section (`key`) or every one the team has not edited. All or nothing.
    Returns the postmortem and the generated sections kept because the team edited them."""
    pm, _ = save_draft(
        postmortem=postmortem,
        sections=sections,
        expected_version=expected_version,
        by=by,
        reviewers=reviewers,
    )
    if key:
        return regenerate_section(postmortem=pm, key=key, by=by), []
    return regenerate_draft(postmortem=pm, by=by)


@transaction.atomic
def set_reviewers(*, postmortem: Postmortem, reviewers: Iterable[User], by: User) -> Postmortem:
    pm = _editable(postmortem, by)
    reviewers = list(reviewers)
    pm.reviewers.set(reviewers)
    if pm.incident.visibility == Incident.Visibility.RESTRICTED:
        # Naming a reviewer on a restricted incident makes them one of its people (ARCHITECTURE).
        pm.incident.responders.add(*reviewers)
    names = ", ".join(display_name(u) for u in reviewers) or "nobody"
    _event(pm, PostmortemEvent.Kind.REVIEWERS, by, comment=names)
    return pm


@transaction.atomic
def submit_for_review(
    *,
    postmortem: Postmortem,
    by: User,
    override_reason: str = "",
    sections: Mapping[str, str] | None = None,
    expected_version: int | None = None,
    reviewers: Iterable[User] | None = None,
) -> Postmortem:
    """Send the draft to its named reviewers. From the editor, the same step saves the text
    (`sections` at `expected_version`) and the reviewers chosen on the form: all or nothing."""
    if sections is not None:
        if expected_version is None:
            raise ServiceError("Say which version of the draft you edited.")
        postmortem, _ = save_draft(
            postmortem=postmortem,
            sections=sections,
            expected_version=expected_version,
            by=by,
            reviewers=reviewers,
        )
    elif reviewers is not None:
        reviewers = list(reviewers)
        if not _same_people(postmortem, reviewers):
            postmortem = set_reviewers(postmortem=postmortem, reviewers=reviewers, by=by)
    pm = _editable(postmortem, by)
    if pm.status != Postmortem.Status.DRAFT:
        raise ServiceError(ONLY_DRAFT_SUBMITS.format(status=pm.get_status_display().lower()))
    if not (pm.sections.get("summary") or "").strip():
        raise ServiceError({"summary": [EMPTY_DOCUMENT]})
    need = approvals_required(pm.incident.severity)
    if need and pm.reviewers.count() < need:
        raise ServiceError(
            {
                "reviewers": [
                    REVIEWERS_NEEDED.format(n=need, s=_plural(need), sev=pm.incident.severity)
                ]
            }
        )
    findings = check_blameless(compose_markdown(pm.title, pm.sections), people=blameless_people())
    override_reason = (override_reason or "").strip()
    if has_high(findings):
        highs = [f for f in findings if f.severity == "high"]
        if not override_reason:
            raise ServiceError(
                {"override_reason": [OVERRIDE_REQUIRED.format(n=len(highs), s=_plural(len(highs)))]}
            )
        pm.blameless_override_reason = override_reason
        _event(pm, PostmortemEvent.Kind.OVERRIDE, by, comment=override_reason)
    pm.status = Postmortem.Status.IN_REVIEW
    pm.submitted_at = timezone.now()
    pm.submitted_by = by
    pm.save()
    _event(pm, PostmortemEvent.Kind.SUBMITTED, by)

    notify_reviewers(postmortem_id=pm.pk)
    return pm


def _review_guard(pm: Postmortem, by: User) -> None:
    if pm.status != Postmortem.Status.IN_REVIEW:
        raise ServiceError(NOT_IN_REVIEW)
    perms.require(perms.can_approve_postmortem(by, pm), NOT_A_REVIEWER)


@transaction.atomic
def approve(*, postmortem: Postmortem, by: User, comment: str = "") -> Postmortem:
    pm = _locked(postmortem)
    _review_guard(pm, by)
    _event(pm, PostmortemEvent.Kind.APPROVED, by, comment=(comment or "").strip())
    return pm


@transaction.atomic
def request_changes(*, postmortem: Postmortem, by: User, comment: str) -> Postmortem:
    pm = _locked(postmortem)
    _review_guard(pm, by)
    comment = (comment or "").strip()
    if not comment:
        raise ServiceError({"comment": [COMMENT_REQUIRED]})
    _event(pm, PostmortemEvent.Kind.CHANGES_REQUESTED, by, comment=comment)
    pm.status = Postmortem.Status.DRAFT
    pm.save()
    return pm


def _update_search_vector(version: PostmortemVersion) -> None:
    """PostgreSQL only: title A, summary + lessons B, whole body C."""
    if connection.vendor != "postgresql":
        return
    vector = (
        SearchVector("title", weight="A", config="english")
        + SearchVector("summary_text", weight="B", config="english")
        + SearchVector("markdown", weight="C", config="english")
    )
    PostmortemVersion.objects.filter(pk=version.pk).update(search_vector=vector)


@transaction.atomic
def publish(*, postmortem: Postmortem, by: User, notify: bool = True) -> PostmortemVersion:
    """Freeze the draft as the next immutable version. `notify=False` (demo seeding, backfills)
    skips the email and Slack message."""
    pm = _editable(postmortem, by)
    incident = pm.incident
    if pm.status != Postmortem.Status.IN_REVIEW:
        raise ServiceError("Submit the postmortem for review before publishing it.")
    need = approvals_required(incident.severity)
    have = len(approvals_in_round(pm))
    if have < need:
        raise ServiceError(
            APPROVALS_MISSING.format(sev=incident.severity, need=need, s=_plural(need), have=have)
        )
    markdown = compose_markdown(pm.title, pm.sections)
    number = (pm.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = PostmortemVersion.objects.create(
        postmortem=pm,
        number=number,
        title=pm.title,
        markdown=markdown,
        html=render_markdown(markdown),
        summary_text="\n\n".join(
            (pm.sections.get(k) or "").strip() for k in ("summary", "lessons")
        ),
        published_at=timezone.now(),
        published_by=by,
    )
    _update_search_vector(version)
    pm.status = Postmortem.Status.PUBLISHED
    pm.latest_version = version
    pm.save()
    _event(pm, PostmortemEvent.Kind.PUBLISHED, by, comment=f"Version {number}")

    if not notify:
        return version
    # The messages are outbox rows written in this transaction: published means announced,
    # even if the broker or the mail server is down right now.
    queue_publication_email(version_id=version.pk)
    queue_publication_slack(version_id=version.pk)
    return version
