"""Reads for the postmortem documents feature (issue 7).

Visibility is never decided here: every read starts from `Incident.objects.visible_to(user)`
(or `get_incident_for`), so a restricted incident's postmortem is absent from pages, library,
search results and counts, the feed and the home panel for anyone who is not its people.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from ..models import Incident, WhyNode
from ..models.documents import (
    GENERATED_KEYS,
    SECTIONS,
    Postmortem,
    PostmortemEvent,
    PostmortemVersion,
)
from .drafts import (
    approvals_in_round,
    approvals_required,
    blameless_findings,
    get_default_template,
)
from .incidents import get_incident_for

__all__ = [
    "find_postmortem_for",
    "get_incident_for",
    "get_postmortem_for",
    "library_queryset",
    "postmortem_section",
    "published_postmortem_urls",
]

# ---------------------------------------------------------------------------
# Accessors
# ---------------------------------------------------------------------------


def find_postmortem_for(
    user: AbstractBaseUser | AnonymousUser, incident_pk: int | str
) -> tuple[Incident, Postmortem | None]:
    """The incident if the user may see it (else 404), and its postmortem, None before the draft
    is generated (the editor then offers to start one)."""
    incident = get_incident_for(user, incident_pk)
    pm = (
        Postmortem.objects.select_related(
            "incident", "latest_version__published_by", "submitted_by"
        )
        .filter(incident=incident)
        .first()
    )
    if pm is not None:
        pm.incident = incident  # keep the prefetched services/people
    return incident, pm


def get_postmortem_for(
    user: AbstractBaseUser | AnonymousUser, incident_pk: int | str, *, published: bool = False
) -> Postmortem:
    """The incident's postmortem if the user may see the incident, else 404. `published=True`:
    only one with a published version (the read page, downloads, the API's read); without it, the
    draft as it is now (the editor and the review steps). Call it again to read a fresh copy."""
    _incident, pm = find_postmortem_for(user, incident_pk)
    if pm is None:
        raise Http404("No published postmortem." if published else "No postmortem yet.")
    if published and pm.latest_version_id is None:
        raise Http404("No published postmortem.")
    return pm


def published_versions_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[PostmortemVersion]:
    """The latest published version of every postmortem the user may see.

    Written as one correlated EXISTS per version (its postmortem points at it and the incident is
    visible, `Incident.objects.visible_exists`), with no join in the filter: PostgreSQL then walks
    the versions' own index (`pm_version_published_id_idx`, newest first) and stops at the page,
    probing each candidate's postmortem and incident by key (issue 15). Callers that show the
    incident keep their `select_related`: a join on the rows shown only."""
    latest_and_visible = Postmortem.objects.filter(latest_version=OuterRef("pk")).filter(
        Incident.objects.visible_exists(user, ref="incident_id")
    )
    return PostmortemVersion.objects.filter(Exists(latest_and_visible))


def published_postmortem_urls(incident_ids: Iterable[int]) -> dict[int, str]:
    """{incident_id: url of its latest published postmortem} for those that have one.

    Callers must pass only incidents the reader may see (the reviews feature uses it for the
    incidents of the week)."""
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = Postmortem.objects.filter(incident_id__in=ids, latest_version__isnull=False).values_list(
        "incident_id", flat=True
    )
    return {i: reverse("postmortems:postmortem-detail", args=[i]) for i in rows}


# ---------------------------------------------------------------------------
# Incident page section and editor
# ---------------------------------------------------------------------------


def postmortem_section(
    incident: Incident, user: AbstractBaseUser | AnonymousUser
) -> dict[str, Any] | None:
    """Context of the incident page's section: status of its postmortem and the next step."""
    pm = (
        Postmortem.objects.filter(incident=incident)
        .select_related("latest_version__published_by")
        .first()
    )
    return {"incident": incident, "postmortem": pm}


def editor_context(pm: Postmortem, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    template = get_default_template()
    findings = blameless_findings(pm)
    sections: list[dict[str, Any]] = []
    for key, title in SECTIONS:
        text = pm.sections.get(key) or ""
        sections.append(
            {
                "key": key,
                "title": title,
                "text": text,
                "help": template.help_for(key),
                "generated": key in GENERATED_KEYS,
                "edited": key in pm.edited_sections,
                "findings": [
                    {
                        "rule": f.rule,
                        "severity": f.severity,
                        "quote": text[f.start : f.end],
                        "message": f.message,
                        "suggestion": f.suggestion,
                    }
                    for f in findings.get(key, [])
                ],
            }
        )
    reviewers = list(pm.reviewers.all())
    approved = approvals_in_round(pm)
    events = list(pm.events.select_related("by").order_by("-at", "-id")[:50])
    high = sum(1 for s in sections for f in s["findings"] if f["severity"] == "high")
    return {
        "postmortem": pm,
        "incident": pm.incident,
        "sections": sections,
        "reviewers": [{"user": r, "approved": r.pk in approved} for r in reviewers],
        "is_reviewer": any(r.pk == user.pk for r in reviewers),
        "approvals": len(approved),
        "approvals_needed": approvals_required(pm.incident.severity),
        "events": events,
        "findings_total": sum(len(s["findings"]) for s in sections),
        "findings_high": high,
        "versions": list(pm.versions.select_related("published_by").order_by("-number")),
    }


def reviewer_choices(incident: Incident) -> QuerySet[AbstractBaseUser]:
    """People who may be named reviewers: anyone active; restricted incidents: its people only."""
    qs = get_user_model().objects.filter(is_active=True).order_by("first_name", "username")
    if incident.is_restricted:
        qs = qs.filter(Q(pk__in=incident.people_ids()) | Q(is_superuser=True))
    return qs


# ---------------------------------------------------------------------------
# Library: filters, full-text search, snippets
# ---------------------------------------------------------------------------

MARK_OPEN, MARK_CLOSE = "\x02", "\x03"  # sentinels: the snippet is escaped, then marked


@dataclass
class LibraryResult:
    version: PostmortemVersion
    incident: Incident
    snippet: str  # safe HTML: escaped text with <mark> around the matches
    categories: list[str]


def _marked_html(text: str) -> str:
    escaped = html.escape(text)
    return escaped.replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")


_MD_NOISE = re.compile(r"[#*_`|>\[\]]+")


def _plain(text: str) -> str:
    return " ".join(_MD_NOISE.sub(" ", text or "").split())


def _fallback_snippet(text: str, words: list[str], width: int = 220) -> str:
    """SQLite: a window around the first match, matches marked."""
    plain = _plain(text)
    lower = plain.lower()
    hits = [lower.find(w.lower()) for w in words if w and lower.find(w.lower()) >= 0]
    start = max(0, min(hits) - width // 3) if hits else 0
    if start > 0:  # begin on a word boundary
        space = plain.find(" ", start)
        start = space + 1 if 0 <= space < min(hits) else start
    window = plain[start : start + width]
    if start > 0:
        window = "…" + window
    if start + width < len(plain):
        window += "…"
    if words:
        pattern = re.compile("|".join(re.escape(w) for w in words if w), re.IGNORECASE)
        window = pattern.sub(lambda m: f"{MARK_OPEN}{m.group(0)}{MARK_CLOSE}", window)
    return _marked_html(window)


def library_queryset(
    user: AbstractBaseUser | AnonymousUser,
    *,
    q: str = "",
    service: str = "",
    team: str = "",
    severity: str = "",
    category: str = "",
    year: int | None = None,
) -> QuerySet[PostmortemVersion]:
    """Latest published versions the user may see, filtered; ranked when searching."""
    qs = published_versions_for(user)
    incidents = Incident.objects.all()
    narrowed = False
    if service:
        incidents, narrowed = incidents.filter(services__slug=service), True
    if team:
        incidents, narrowed = incidents.filter(services__team__slug=team), True
    if severity:
        incidents, narrowed = incidents.filter(severity=severity), True
    if year:
        incidents, narrowed = incidents.filter(started_at__year=year), True
    if category:
        incidents = incidents.filter(
            pk__in=WhyNode.objects.alive().filter(category=category).values("incident_id")
        )
        narrowed = True
    if narrowed:
        qs = qs.filter(postmortem__incident__in=incidents.values("pk"))
    q = (q or "").strip()[:200]
    if q:
        if connection.vendor == "postgresql":
            query = SearchQuery(q, search_type="websearch", config="english")
            # The GIN index finds the matches; only they are ranked. Snippets (ts_headline over
            # the whole Markdown) are made for the shown page only, in `library_results`.
            qs = (
                qs.filter(search_vector=query)
                .annotate(rank=SearchRank(F("search_vector"), query))
                .order_by("-rank", "-published_at", "-id")
            )
        else:
            for word in q.split()[:8]:
                qs = qs.filter(Q(title__icontains=word) | Q(markdown__icontains=word))
            qs = qs.order_by("-published_at", "-id")
    else:
        qs = qs.order_by("-published_at", "-id")
    # The list never shows the rendered document or the vector; PostgreSQL's snippets come from
    # SQL (`_headlines`): keep the rows narrow (a ranked search sorts every match).
    deferred = ["html", "search_vector"]
    if connection.vendor == "postgresql":
        deferred += ["markdown", "summary_text"] if q else ["markdown"]
    return (
        qs.defer(*deferred)
        .select_related("postmortem__incident", "published_by")
        .prefetch_related("postmortem__incident__services")
    )


def _headlines(version_ids: list[int], q: str) -> dict[int, str]:
    """PostgreSQL: {version id: ts_headline snippet with the matches marked} for one page."""
    if not version_ids or not q or connection.vendor != "postgresql":
        return {}
    query = SearchQuery(q, search_type="websearch", config="english")
    headline = SearchHeadline(
        "markdown",
        query,
        config="english",
        start_sel=MARK_OPEN,
        stop_sel=MARK_CLOSE,
        max_words=40,
        min_words=20,
        max_fragments=2,
        fragment_delimiter=" … ",
    )
    rows = (
        PostmortemVersion.objects.filter(pk__in=version_ids)
        .annotate(headline=headline)
        .values_list("pk", "headline")
    )
    return dict(rows)


def library_results(versions: Iterable[PostmortemVersion], q: str = "") -> list[LibraryResult]:
    """Turn one page of versions into results with snippets and cause categories (2 queries when
    searching on PostgreSQL: the snippets, then the categories; else 1)."""
    versions = list(versions)
    q = (q or "").strip()[:200]
    headlines = _headlines([v.pk for v in versions], q)
    incident_ids = [v.postmortem.incident_id for v in versions]
    cats: dict[int, set[str]] = {}
    labels = dict(WhyNode.Category.choices)
    for incident_id, category in (
        WhyNode.objects.alive()
        .filter(incident_id__in=incident_ids)
        .exclude(category="")
        .values_list("incident_id", "category")
        .distinct()
    ):
        cats.setdefault(incident_id, set()).add(labels.get(category, category))
    words = (q or "").split()[:8]
    results = []
    for v in versions:
        headline = headlines.get(v.pk)
        if headline:
            snippet = _marked_html(_plain_keep_marks(headline))
        elif words and connection.vendor != "postgresql":
            snippet = _fallback_snippet(v.markdown.split("\n", 1)[-1], words)
        elif words:  # PostgreSQL, nothing to quote: the search deferred the texts
            snippet = ""
        else:
            snippet = _marked_html(_plain(v.summary_text)[:260])
        results.append(
            LibraryResult(
                version=v,
                incident=v.postmortem.incident,
                snippet=snippet,
                categories=sorted(cats.get(v.postmortem.incident_id, set())),
            )
        )
    return results


def _plain_keep_marks(text: str) -> str:
    return " ".join(_MD_NOISE.sub(" ", text).split())


def severity_counts(qs: QuerySet[PostmortemVersion]) -> dict[str, int]:
    """{severity: number of results} over the whole result set. Only call it when the capped count
    says the set is small (the library does): it groups every row of `qs`."""
    rows = (
        qs.order_by()
        .values("postmortem__incident__severity")
        .annotate(n=Count("pk"))
        .values_list("postmortem__incident__severity", "n")
    )
    return dict(rows)


def library_years(user: AbstractBaseUser | AnonymousUser) -> list[int]:
    """The years of the year filter: from the oldest to the newest incident with a published
    postmortem the user may see, newest first. Two probes along the incidents' start-time index
    instead of grouping every visible version; a year in between without any (rare) just finds
    nothing, and the bounds are exact for this reader."""
    published = (
        Incident.objects.visible_to(user)
        .filter(postmortem__latest_version__isnull=False)
        .values_list("started_at", flat=True)
    )
    first = published.order_by("started_at").first()
    last = published.order_by("-started_at").first()
    if first is None or last is None:
        return []
    return list(range(timezone.localtime(last).year, timezone.localtime(first).year - 1, -1))


# ---------------------------------------------------------------------------
# Read page extras
# ---------------------------------------------------------------------------


def same_incident_again(
    pm: Postmortem, user: AbstractBaseUser | AnonymousUser, limit: int = 5
) -> list[dict[str, Any]]:
    """Earlier published postmortems of the same services whose why trees share a cause category."""
    incident = pm.incident
    categories = set(
        WhyNode.objects.alive()
        .filter(incident=incident)
        .exclude(category="")
        .values_list("category", flat=True)
    )
    service_ids = [s.pk for s in incident.services.all()]
    if not categories or not service_ids:
        return []
    candidates = Incident.objects.visible_to(user).filter(
        services__in=service_ids, started_at__lt=incident.started_at
    )
    matching = WhyNode.objects.alive().filter(
        category__in=categories, incident__in=candidates.values("pk")
    )  # `candidates` is already narrowed by service and time: a small IN list
    versions = list(
        published_versions_for(user)
        .filter(postmortem__incident__in=matching.values("incident_id"))
        .select_related("postmortem__incident")
        .order_by("-postmortem__incident__started_at")[:limit]
    )
    shared: dict[int, set[str]] = {}
    labels = dict(WhyNode.Category.choices)
    for incident_id, category in matching.filter(
        incident_id__in=[v.postmortem.incident_id for v in versions]
    ).values_list("incident_id", "category"):
        shared.setdefault(incident_id, set()).add(labels.get(category, category))
    return [
        {
            "version": v,
            "incident": v.postmortem.incident,
            "categories": sorted(shared.get(v.postmortem.incident_id, set())),
        }
        for v in versions
    ]


def review_trail(pm: Postmortem) -> list[PostmortemEvent]:
    return list(
        pm.events.filter(
            kind__in=[
                PostmortemEvent.Kind.SUBMITTED,
                PostmortemEvent.Kind.OVERRIDE,
                PostmortemEvent.Kind.APPROVED,
                PostmortemEvent.Kind.CHANGES_REQUESTED,
                PostmortemEvent.Kind.PUBLISHED,
            ]
        )
        .select_related("by")
        .order_by("at", "id")
    )


# ---------------------------------------------------------------------------
# Home panel and feed
# ---------------------------------------------------------------------------


def latest_published_panel(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any] | None:
    versions = list(
        published_versions_for(user)
        .select_related("postmortem__incident")
        .defer("markdown", "html", "summary_text", "search_vector")
        .order_by("-published_at", "-id")[:5]
    )
    return {
        "template": "postmortems/documents/_home_panel.html",
        "column": "side",
        "versions": versions,
    }


def waiting_for_review(user: User) -> QuerySet[Postmortem]:
    """Postmortems in review that name the user as a reviewer and wait for their approval in the
    current round, on incidents the user may see."""
    approved = PostmortemEvent.objects.filter(
        postmortem=OuterRef("pk"),
        round=OuterRef("round"),
        at__gte=OuterRef("submitted_at"),
        by=user,
        kind=PostmortemEvent.Kind.APPROVED,
    )
    return (
        Postmortem.objects.filter(
            status=Postmortem.Status.IN_REVIEW,
            reviewers=user,
        )
        .filter(Incident.objects.visible_exists(user, ref="incident_id"))
        .exclude(Exists(approved))
        .select_related("incident", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def waiting_for_review_panel(user: User) -> dict[str, Any] | None:
    """Home panel: "Waiting for my review" (every user has one; empty says so)."""
    return {
        "template": "postmortems/documents/_review_panel.html",
        "column": "main",
        "postmortems": list(waiting_for_review(user)[:20]),
    }


def feed_versions(
    user: AbstractBaseUser | AnonymousUser, limit: int = 30
) -> list[PostmortemVersion]:
    """The newest `limit` latest versions the user may see (by the published-time index). The
    feed carries each one's summary, not its whole document: `markdown`/`html` are deferred."""
    return list(
        published_versions_for(user)
        .select_related("postmortem__incident", "published_by")
        .defer("markdown", "html", "search_vector")
        .order_by("-published_at", "-id")[:limit]
    )
