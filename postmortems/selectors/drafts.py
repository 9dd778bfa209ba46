"""Reads of the postmortem documents feature that build a draft's text and judge it: the
generated sections (`GENERATORS`: the incident's data → Markdown per section), the whole document
as one Markdown text, the blameless findings, the default template and the approvals a round has
and needs. Nothing here writes, except that the default template is created on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from ..blameless import Finding, check_blameless
from ..display import display_name
from ..durations import human_duration
from ..models import ActionItem, Incident, SuspectVerdict, TimelineEntry, WhyNode
from ..models.documents import SECTIONS, Postmortem, PostmortemEvent, PostmortemTemplate
from .impact import impact_lines
from .people import blameless_people
from .suspects import ranked_suspects

# ---------------------------------------------------------------------------
# Template and approvals
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


# ---------------------------------------------------------------------------
# Generation (pure reads of the incident's data → Markdown per section)
# ---------------------------------------------------------------------------


def _fmt_dt(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


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
        TimelineEntry.objects.alive()
        .filter(incident=incident)
        .select_related("author")
        .order_by("at", "id")
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
    nodes = list(WhyNode.objects.alive().filter(incident=incident).order_by("level", "id"))
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

    def walk(parent_id: int | None, depth: int) -> None:
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
        ActionItem.objects.alive()
        .filter(incident=incident)
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
        owner = display_name(item.owner) if item.owner else item.team.name
        due = item.due_on.isoformat() if item.due_on else "—"
        lines.append(
            f"| {title} | {item.get_type_display()} | {item.get_priority_display()} | "
            f"{owner} | {due} | {item.get_status_display()} |"
        )
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[Incident], str]] = {
    "summary": _gen_summary,
    "impact": _gen_impact,
    "timeline": _gen_timeline,
    "suspects": _gen_suspects,
    "whys": _gen_whys,
    "actions": _gen_actions,
}


def compose_markdown(title: str, sections: Mapping[str, str]) -> str:
    """The whole document as one Markdown text (what is published, searched and downloaded)."""
    parts = [f"# {title}"]
    for key, heading in SECTIONS:
        body = (sections.get(key) or "").strip()
        if body:
            parts.append(f"## {heading}\n\n{body}")
    return "\n\n".join(parts) + "\n"


def blameless_findings(
    postmortem: Postmortem, people: Iterable[str] | None = None
) -> dict[str, list[Finding]]:
    """{section key: [Finding, ...]} for the sections that have any."""
    names = list(people) if people is not None else blameless_people()
    found = {}
    for key, _ in SECTIONS:
        text = postmortem.sections.get(key) or ""
        if text.strip():
            findings = check_blameless(text, people=names)
            if findings:
                found[key] = findings
    return found
