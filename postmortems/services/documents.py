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

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from metrics_link.links import absolute_url, absolutize_html, absolutize_markdown

from .. import permissions as perms
from ..blameless import check_blameless, has_high
from ..display import display_name
from ..durations import human_duration
from ..markdown import render_markdown
from ..models import ActionItem, Incident, SuspectVerdict, WhyNode
from ..models.documents import (
    GENERATED_KEYS,
    SECTION_TITLES,
    SECTIONS,
    Postmortem,
    PostmortemEvent,
    PostmortemTemplate,
    PostmortemVersion,
)
from ..selectors.people import blameless_people
from . import slack
from .errors import ServiceError
from .mail import queue_mail, templated_email

log = logging.getLogger(__name__)

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
STALE_DRAFT = (
    "{who} saved this postmortem at {when} while you were editing. Nothing was overwritten: "
    "compare their text with yours below, merge, and save again."
)
MAX_SECTION_CHARS = 50_000


# ---------------------------------------------------------------------------
# Template and helpers
# ---------------------------------------------------------------------------


def get_default_template() -> PostmortemTemplate:
    """The default template, created on first use (admins edit its help texts)."""
    template = PostmortemTemplate.objects.filter(is_default=True).first()
    if template is None:
        template, _ = PostmortemTemplate.objects.get_or_create(
            name="Default", defaults={"is_default": True}
        )
    return template


def approvals_required(severity: str) -> int:
    table = getattr(settings, "POSTMORTEM_APPROVALS_REQUIRED", {}) or {}
    return int(table.get(severity, 1))


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def _name(user) -> str:
    return display_name(user)


def _event(postmortem: Postmortem, kind: str, by, comment: str = "") -> PostmortemEvent:
    return PostmortemEvent.objects.create(
        postmortem=postmortem,
        kind=kind,
        round=postmortem.round,
        by=by,
        at=timezone.now(),
        comment=comment,
    )


def _fmt_dt(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def _clean_text(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


@dataclass(frozen=True)
class Conflict:
    """One section both sides changed: their newer saved text, and the writer's unsaved text."""

    key: str
    title: str
    theirs: str
    yours: str


class StaleDraft(ServiceError):
    """The draft changed since the version the writer read. Nothing was saved.

    `merged` is what the editor should show now ({key: text}: yours where only you changed a
    section, theirs where only they did, yours where both did); `conflicts` lists the sections both
    changed, with both texts, so the person merges by hand. `current_version` is the version to
    name in the next save."""

    def __init__(self, postmortem: Postmortem, *, merged: dict, conflicts: list[Conflict]):
        self.postmortem = postmortem
        self.current_version = postmortem.version
        self.merged = merged
        self.conflicts = conflicts
        last = (
            postmortem.events.filter(kind=PostmortemEvent.Kind.EDITED)
            .select_related("by")
            .order_by("-at", "-id")
            .first()
        )
        self.changed_by = _name(last.by) if last and last.by else "Someone"
        when = timezone.localtime(last.at if last else postmortem.updated_at).strftime("%H:%M")
        super().__init__(STALE_DRAFT.format(who=self.changed_by, when=when), code="stale")


def _sections_at(pm: Postmortem, version: int) -> dict | None:
    """The text of the draft at `version` (from its history), or None when unknown."""
    record = pm.history.filter(version=version).order_by("-history_date", "-history_id").first()
    return dict(record.sections or {}) if record is not None else None


def _merge(pm: Postmortem, mine: dict[str, str], base: dict | None) -> tuple[dict, list[Conflict]]:
    merged: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for key, _title in SECTIONS:
        if key not in mine:
            continue
        yours = mine[key]
        theirs = _clean_text(pm.sections.get(key))
        before = _clean_text(base.get(key)) if base is not None else None
        if yours == theirs:
            merged[key] = theirs
        elif before is not None and yours == before:
            merged[key] = theirs  # only they changed it
        elif before is not None and theirs == before:
            merged[key] = yours  # only you changed it
        else:
            merged[key] = yours
            conflicts.append(Conflict(key, SECTION_TITLES[key], theirs, yours))
    return merged, conflicts


# ---------------------------------------------------------------------------
# Generation (pure reads of the incident's data → Markdown per section)
# ---------------------------------------------------------------------------


def _gen_summary(incident: Incident) -> str:
    if incident.summary.strip():
        return incident.summary.strip()
    services = ", ".join(s.slug for s in incident.services.all()) or "an unnamed service"
    text = f"A {incident.severity.upper()} incident affected {services}"
    if incident.time_to_resolve and incident.time_to_resolve.total_seconds() >= 60:
        text += f" for {human_duration(incident.time_to_resolve)}"
    text += f", starting {_fmt_dt(incident.started_at)}."
    if incident.impact:
        text += f" {incident.impact.strip()}"
    return text


def _gen_impact(incident: Incident) -> str:
    from ..selectors.impact import impact_lines

    lines = []
    if incident.impact.strip():
        lines.append(incident.impact.strip())
        lines.append("")
    lines += [
        "| Measure | Value |",
        "| --- | --- |",
        f"| Started | {_fmt_dt(incident.started_at)} |",
        f"| Time to detect | {human_duration(incident.time_to_detect)} |",
        f"| Time to mitigate | {human_duration(incident.time_to_mitigate)} |",
        f"| Time to restore | {human_duration(incident.time_to_resolve)} |",
    ]
    business = list(impact_lines(incident))
    if business:
        lines.append("")
        lines.append("Against the same window a week earlier:")
        lines.append("")
        lines += [f"- {_one_line(line)}" for line in business]
    return "\n".join(lines)


def _gen_timeline(incident: Incident) -> str:
    entries = list(
        incident.timeline.filter(is_deleted=False).select_related("author").order_by("at", "id")
    )
    if not entries:
        return "_No timeline entries were recorded._"
    starred = [e for e in entries if e.starred]
    lines = []
    if starred and len(starred) < len(entries):
        lines.append("**Key moments**")
        lines.append("")
        lines += [f"- **{_fmt_dt(e.at)}** — {_one_line(e.body)}" for e in starred]
        lines.append("")
        lines.append("**Full timeline**")
        lines.append("")
    lines += [
        f"- {_fmt_dt(e.at)} — {_one_line(e.body)}{' ★' if e.starred else ''}" for e in entries
    ]
    return "\n".join(lines)


def _gen_suspects(incident: Incident) -> str:
    from ..selectors.suspects import ranked_suspects

    suspects = list(ranked_suspects(incident))
    verdicts = {
        v.deploy_id: v
        for v in SuspectVerdict.objects.filter(incident=incident).select_related(
            "deploy__service", "by"
        )
    }
    lines = []
    if incident.no_deploy_involved:
        lines.append("Responders concluded that no deploy was involved.")
        lines.append("")
    seen = set()
    # The judged deploys and the three most suspicious: a long tail of "Not judged" says nothing.
    shown = [
        s for rank, s in enumerate(suspects) if rank < 3 or (s.verdict or verdicts.get(s.deploy.pk))
    ]
    for suspect in shown:
        deploy = suspect.deploy
        seen.add(deploy.pk)
        verdict = suspect.verdict or verdicts.get(deploy.pk)
        label = verdict.get_verdict_display() if verdict else "Not judged"
        reasons = "; ".join(suspect.reasons or [])
        lines.append(
            f"- **{deploy.service.slug} {deploy.version}** ({deploy.environment}, "
            f"{_fmt_dt(deploy.finished_at)}) — score {suspect.score:.0f}, **{label}**"
            + (f". {reasons}" if reasons else "")
        )
        if verdict and verdict.note:
            lines.append(f"  - {_one_line(verdict.note)}")
    for deploy_id, verdict in verdicts.items():
        if deploy_id in seen:
            continue
        deploy = verdict.deploy
        lines.append(
            f"- **{deploy.service.slug} {deploy.version}** ({deploy.environment}, "
            f"{_fmt_dt(deploy.finished_at)}) — **{verdict.get_verdict_display()}**"
            + (f". {_one_line(verdict.note)}" if verdict.note else "")
        )
    hidden = len(suspects) - len(shown)
    if hidden > 0:
        lines.append(
            f"- _{hidden} other deploy{'s' if hidden != 1 else ''} in the window, "
            "with lower scores, were not judged._"
        )
    if not lines:
        return "_No suspect deploys were recorded._"
    return "\n".join(lines).rstrip()


def _gen_whys(incident: Incident) -> str:
    nodes = list(
        WhyNode.objects.filter(incident=incident, is_deleted=False).order_by("level", "id")
    )
    if not nodes:
        return "_The why tree has not been written yet._"
    alive = {n.pk for n in nodes}
    children: dict[int | None, list[WhyNode]] = {}
    for node in nodes:
        parent = node.parent_id if node.parent_id in alive else None
        if node.parent_id and node.parent_id not in alive:
            continue  # under a deleted node: not part of the tree
        children.setdefault(parent, []).append(node)
    lines: list[str] = []

    def walk(parent_id, depth):
        for node in children.get(parent_id, []):
            pad = "  " * depth
            category = f" _({node.get_category_display().lower()})_" if node.category else ""
            answer = _one_line(node.answer) or "_(no answer yet)_"
            lines.append(f"{pad}- **Why {node.level}:** {answer}{category}")
            if node.accepted_risk_reason:
                lines.append(f"{pad}  - Risk accepted: {_one_line(node.accepted_risk_reason)}")
            if node.stop_reason:
                lines.append(f"{pad}  - Stopped here: {_one_line(node.stop_reason)}")
            walk(node.pk, depth + 1)

    first = children.get(None, [])
    if first:
        lines.append(f"**{_one_line(first[0].question)}**")
        lines.append("")
    walk(None, 0)
    return "\n".join(lines)


def _gen_actions(incident: Incident) -> str:
    items = list(
        ActionItem.objects.filter(incident=incident, is_deleted=False)
        .select_related("owner", "team")
        .order_by("priority", "due_on", "id")
    )
    if not items:
        return "_No action items yet._"
    lines = [
        "| Action | Type | Priority | Owner | Due | Status |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in items:
        title = _one_line(item.title).replace("|", "\\|")
        owner = _name(item.owner) if item.owner else item.team.name
        due = item.due_on.isoformat() if item.due_on else "—"
        lines.append(
            f"| {title} | {item.get_type_display()} | {item.get_priority_display()} | "
            f"{owner} | {due} | {item.get_status_display()} |"
        )
    return "\n".join(lines)


GENERATORS = {
    "summary": _gen_summary,
    "impact": _gen_impact,
    "timeline": _gen_timeline,
    "suspects": _gen_suspects,
    "whys": _gen_whys,
    "actions": _gen_actions,
}


def compose_markdown(title: str, sections: dict[str, str]) -> str:
    """The whole document as one Markdown text (what is published, searched and downloaded)."""
    parts = [f"# {title}"]
    for key, heading in SECTIONS:
        body = (sections.get(key) or "").strip()
        if body:
            parts.append(f"## {heading}\n\n{body}")
    return "\n\n".join(parts) + "\n"


def blameless_findings(postmortem: Postmortem, people: Iterable[str] | None = None) -> dict:
    """{section key: [Finding, ...]} for the sections that have any."""
    people = list(people) if people is not None else blameless_people()
    found = {}
    for key, _ in SECTIONS:
        text = postmortem.sections.get(key) or ""
        if text.strip():
            findings = check_blameless(text, people=people)
            if findings:
                found[key] = findings
    return found


# ---------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------


def _check_key(key: str) -> None:
    if key not in SECTION_TITLES:
        raise ServiceError(UNKNOWN_SECTION.format(key=key))


@transaction.atomic
def generate_draft(*, incident: Incident, by) -> Postmortem:
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


def _reopen_if_published(postmortem: Postmortem, by) -> None:
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


def _editable(postmortem: Postmortem, by) -> Postmortem:
    """The locked row, if `by` may edit the draft (postmortems.permissions)."""
    pm = _locked(postmortem)
    perms.require(perms.can_edit_postmortem(by, pm), perms.incident_refusal(pm.incident))
    return pm


@transaction.atomic
def edit_section(*, postmortem: Postmortem, key: str, text: str, by) -> Postmortem:
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
        text = _clean_text(text)
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


def _same_people(pm: Postmortem, reviewers: list) -> bool:
    return set(pm.reviewers.values_list("pk", flat=True)) == {u.pk for u in reviewers}


@transaction.atomic
def save_draft(
    *,
    postmortem: Postmortem,
    sections: Mapping[str, str],
    expected_version: int,
    by,
    reviewers: Iterable | None = None,
) -> tuple[Postmortem, list[str]]:
    """Save every section the writer changed, in one step, if the draft is still at
    `expected_version`; else raise StaleDraft and write nothing. `reviewers` (when given) replaces
    the named reviewers. Returns the postmortem and the keys of the sections saved."""
    mine = _clean_sections(sections)
    pm = _editable(postmortem, by)
    # The version is compared under the row lock: of two saves that read the same version, the
    # second waits for the first, then sees the bumped version and is told, never overwriting it.
    if pm.version != expected_version:
        merged, conflicts = _merge(pm, mine, _sections_at(pm, expected_version))
        raise StaleDraft(pm, merged=merged, conflicts=conflicts)
    changed = [k for k, _ in SECTIONS if k in mine and mine[k] != _clean_text(pm.sections.get(k))]
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
    if new_reviewers:
        pm = set_reviewers(postmortem=pm, reviewers=reviewers, by=by)
    return pm, changed


@transaction.atomic
def regenerate_section(*, postmortem: Postmortem, key: str, by) -> Postmortem:
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
def regenerate_draft(*, postmortem: Postmortem, by) -> tuple[Postmortem, list[str]]:
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
    by,
    reviewers: Iterable | None = None,
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
def set_reviewers(*, postmortem: Postmortem, reviewers: Iterable, by) -> Postmortem:
    pm = _editable(postmortem, by)
    reviewers = list(reviewers)
    pm.reviewers.set(reviewers)
    if pm.incident.visibility == Incident.Visibility.RESTRICTED:
        # Naming a reviewer on a restricted incident makes them one of its people (ARCHITECTURE).
        pm.incident.responders.add(*reviewers)
    names = ", ".join(_name(u) for u in reviewers) or "nobody"
    _event(pm, PostmortemEvent.Kind.REVIEWERS, by, comment=names)
    return pm


@transaction.atomic
def submit_for_review(
    *,
    postmortem: Postmortem,
    by,
    override_reason: str = "",
    sections: Mapping[str, str] | None = None,
    expected_version: int | None = None,
    reviewers: Iterable | None = None,
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


def _review_guard(pm: Postmortem, by) -> None:
    if pm.status != Postmortem.Status.IN_REVIEW:
        raise ServiceError(NOT_IN_REVIEW)
    perms.require(perms.can_approve_postmortem(by, pm), NOT_A_REVIEWER)


def approvals_in_round(pm: Postmortem) -> set[int]:
    """Reviewers whose latest decision in the current round is an approval."""
    reviewer_ids = set(pm.reviewers.values_list("pk", flat=True))
    latest: dict[int, str] = {}
    for by_id, kind in pm.events.filter(
        round=pm.round,
        kind__in=[PostmortemEvent.Kind.APPROVED, PostmortemEvent.Kind.CHANGES_REQUESTED],
        at__gte=pm.submitted_at or timezone.now(),
    ).values_list("by_id", "kind"):
        latest[by_id] = kind
    return {
        u for u, k in latest.items() if k == PostmortemEvent.Kind.APPROVED and u in reviewer_ids
    }


@transaction.atomic
def approve(*, postmortem: Postmortem, by, comment: str = "") -> Postmortem:
    pm = _locked(postmortem)
    _review_guard(pm, by)
    _event(pm, PostmortemEvent.Kind.APPROVED, by, comment=(comment or "").strip())
    return pm


@transaction.atomic
def request_changes(*, postmortem: Postmortem, by, comment: str) -> Postmortem:
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
    from django.contrib.postgres.search import SearchVector

    vector = (
        SearchVector("title", weight="A", config="english")
        + SearchVector("summary_text", weight="B", config="english")
        + SearchVector("markdown", weight="C", config="english")
    )
    PostmortemVersion.objects.filter(pk=version.pk).update(search_vector=vector)


@transaction.atomic
def publish(*, postmortem: Postmortem, by, notify: bool = True) -> PostmortemVersion:
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


# ---------------------------------------------------------------------------
# Side effects (called by the tasks)
# ---------------------------------------------------------------------------


def _version_url(version: PostmortemVersion) -> str:
    return absolute_url(version.postmortem.get_absolute_url())


def publication_recipients(incident: Incident) -> list[str]:
    """All staff for a public incident; only its own people for a restricted one."""
    if not incident.is_restricted:
        return [settings.ALL_STAFF_EMAIL]
    User = get_user_model()
    emails = User.objects.filter(pk__in=incident.people_ids(), is_active=True).values_list(
        "email", flat=True
    )
    return sorted({e for e in emails if e})


def queue_publication_email(*, version_id: int) -> int:
    """Queue the mail of a published version (text + HTML) in the outbox, once per version.
    Returns the number of messages queued (0 or 1)."""
    version = (
        PostmortemVersion.objects.select_related("postmortem__incident", "published_by")
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        return 0
    incident = version.postmortem.incident
    if incident.is_deleted:
        return 0
    recipients = publication_recipients(incident)
    if not recipients:
        return 0
    ctx = {
        "version": version,
        "incident": incident,
        "url": _version_url(version),
        "by": _name(version.published_by),
        # The document's own links are site paths: made absolute, they work from a mailbox.
        "markdown": absolutize_markdown(version.markdown),
        "body_html": absolutize_html(version.html),
    }
    subject = f"Postmortem published: {version.title}"
    if version.number > 1:
        subject += f" (version {version.number})"
    message = templated_email(
        subject=subject,
        template="postmortems/email/published",
        context=ctx,
        to=recipients if not incident.is_restricted else [],
        bcc=recipients if incident.is_restricted else [],
    )
    queue_mail(message, dedupe_key=f"postmortem-version:{version.pk}:mail")
    return 1


def reviewers_to_notify(pm: Postmortem) -> list:
    """Named reviewers who can read the incident and have an address; not the one who submitted."""
    return [
        user
        for user in pm.reviewers.filter(is_active=True).exclude(email="").order_by("pk")
        if user.pk != pm.submitted_by_id
        and Incident.objects.visible_to(user).filter(pk=pm.incident_id).exists()
    ]


def notify_reviewers(*, postmortem_id: int) -> int:
    """Tell each named reviewer that a postmortem waits for their review: one mail each, with a
    link to it, and a Slack message for public incidents when SLACK_WEBHOOK_URL is set. The
    messages are outbox rows written in the caller's transaction, once per submission (a repeat
    queues nothing new). Returns the number of reviewers told; 0 once it has left review."""
    pm = (
        Postmortem.objects.select_related("incident", "submitted_by")
        .filter(pk=postmortem_id)
        .first()
    )
    if pm is None or pm.status != Postmortem.Status.IN_REVIEW or pm.incident.is_deleted:
        return 0
    incident = pm.incident
    url = absolute_url(pm.editor_url() + "#review")
    submission = f"postmortem:{pm.pk}:review:{pm.submitted_at:%Y%m%dT%H%M%S.%f}"
    subject = f"Review requested: postmortem of #{incident.pk} {pm.title}"
    sent = 0
    for reviewer in reviewers_to_notify(pm):
        context = {
            "postmortem": pm,
            "incident": incident,
            "reviewer": _name(reviewer),
            "by": _name(pm.submitted_by),
            "url": url,
            "approvals_needed": approvals_required(incident.severity),
        }
        message = templated_email(
            subject=subject,
            template="postmortems/email/review_requested",
            context=context,
            to=[reviewer.email],
        )
        queue_mail(message, dedupe_key=f"{submission}:reviewer:{reviewer.pk}")
        sent += 1
    if not incident.is_restricted:
        names = ", ".join(_name(u) for u in pm.reviewers.order_by("first_name", "username"))
        slack.queue_slack(
            f"Postmortem waiting for review by {names}: <{url}|#{incident.pk} {pm.title}>",
            dedupe_key=f"{submission}:slack",
        )
    return sent


def queue_publication_slack(*, version_id: int) -> bool:
    """Queue a short Slack message about a published version (public incidents only, when
    SLACK_WEBHOOK_URL is set). Returns whether one was queued."""
    version = (
        PostmortemVersion.objects.select_related("postmortem__incident")
        .filter(pk=version_id)
        .first()
    )
    if version is None or version.postmortem.incident.is_restricted:
        return False
    text = f"Postmortem published: <{_version_url(version)}|{version.title}>" + (
        f" (version {version.number})" if version.number > 1 else ""
    )
    return slack.queue_slack(text, dedupe_key=f"postmortem-version:{version.pk}:slack") is not None
