"""generate_scale step of postmortems: published documents with their versions, events and
reviewers."""

from __future__ import annotations

import html
import json
import random
import time
from datetime import timedelta

from django.db import connection

from ..models import SuspectVerdict
from ..models.documents import Postmortem, PostmortemEvent, PostmortemVersion
from .plan import (
    CAUSES,
    I_CMD,
    I_REP,
    I_RESOLVED,
    I_RESP,
    I_STATUS,
    I_SUSPECT,
    I_SVC,
    I_T,
    SYMPTOMS,
    Plan,
    learned_from,
    random_words,
)
from .writer import Writer, m2m_table, table


def markdown_document(r: random.Random, title: str, x, service: str) -> tuple[str, str, str]:
    cause = CAUSES[r.randrange(len(CAUSES))]
    summary = f"{service} failed for customers because of {cause}. {random_words(r, 20)}."
    lessons = f"{random_words(r, 25)}."
    parts = [
        ("Summary", summary),
        ("Impact", f"About {r.randrange(1, 40)}% of requests failed. {random_words(r, 25)}."),
        ("Timeline", "\n".join(f"- {random_words(r, 8)}" for _ in range(6))),
        ("Suspect deploys", f"{random_words(r, 15)}."),
        (
            "Why it happened",
            "\n".join(f"{k}. Because of {random_words(r, 8)}" for k in range(1, 6)),
        ),
        ("Action items", "\n".join(f"- [ ] {random_words(r, 6)}" for _ in range(4))),
        ("What went well", f"{random_words(r, 20)}."),
        ("What went poorly", f"{random_words(r, 20)}."),
        ("Lessons", lessons),
    ]
    md = f"# {title}\n\n" + "\n\n".join(f"## {h}\n\n{body}" for h, body in parts)
    body_html = []
    for h, body in parts:
        body_html.append(f"<h2>{html.escape(h)}</h2>")
        lines = body.splitlines()
        if len(lines) > 1:
            body_html.append(
                "<ul>" + "".join(f"<li>{html.escape(ln)}</li>" for ln in lines) + "</ul>"
            )
        else:
            body_html.append(f"<p>{html.escape(body)}</p>")
    return md, "\n".join(body_html), f"{summary}\n\n{lessons}"


def step_postmortems(p: Plan, w: Writer) -> None:
    r = p.rng("postmortems")
    total = p.sizes["postmortems"]
    with_whys = list(p.why_ids)
    others = [i for i, x in enumerate(p.inc) if learned_from(x) and i not in p.why_ids]
    r.shuffle(others)
    chosen = sorted((with_whys + others)[:total])
    p.published = chosen
    drafts = [i for i, x in enumerate(p.inc) if x[I_STATUS] in ("resolved", "mitigated")][
        -max(1, total // 10) :
    ]
    drafts = [i for i in drafts if i not in set(chosen)]
    pm_first = w.next_id(table(Postmortem))
    v_first = w.next_id(table(PostmortemVersion))
    versions: list[int] = []  # how many versions per published postmortem
    for _ in chosen:
        versions.append(2 if r.random() < 0.1 else 1)
    latest = []
    vid = v_first
    for nv in versions:
        vid += nv
        latest.append(vid - 1)
    sections = json.dumps({"summary": "See the published version.", "lessons": ""})

    def pms():
        for k, i in enumerate(chosen):
            x = p.inc[i]
            at = p.ts(x[I_RESOLVED]) + timedelta(days=3)
            yield (
                pm_first + k,
                f"Postmortem: {p.service_slug[x[I_SVC]]} {SYMPTOMS[i % len(SYMPTOMS)]}",
                "published",
                sections,
                "[]",
                versions[k],
                at - timedelta(days=1),
                "",
                p.ts(x[I_RESOLVED]),
                at,
                x[I_CMD],
                p.incident_first + i,
                x[I_CMD],
                latest[k],
            )
        for k, i in enumerate(drafts):
            x = p.inc[i]
            at = p.ts(x[I_RESOLVED] or x[I_T])
            yield (
                pm_first + len(chosen) + k,
                f"Postmortem: {p.service_slug[x[I_SVC]]}",
                "in_review" if k % 3 == 0 else "draft",
                sections,
                "[]",
                1,
                at if k % 3 == 0 else None,
                "",
                at,
                at,
                x[I_CMD],
                p.incident_first + i,
                x[I_CMD] if k % 3 == 0 else None,
                None,
            )

    w.write(
        table(Postmortem),
        [
            "id",
            "title",
            "status",
            "sections",
            "edited_sections",
            "round",
            "submitted_at",
            "blameless_override_reason",
            "created_at",
            "updated_at",
            "created_by_id",
            "incident_id",
            "submitted_by_id",
            "latest_version_id",
            "version",
        ],
        ((*row, 1) for row in pms()),
        len(chosen) + len(drafts),
    )

    def vers():
        vid = v_first
        for k, i in enumerate(chosen):
            x = p.inc[i]
            title = f"Postmortem: {p.service_slug[x[I_SVC]]} {SYMPTOMS[i % len(SYMPTOMS)]}"
            md, body, summary = markdown_document(r, title, x, p.service_slug[x[I_SVC]])
            for number in range(1, versions[k] + 1):
                at = p.ts(x[I_RESOLVED]) + timedelta(days=3 * number)
                yield (vid, number, title, md, body, summary, at, None, pm_first + k, x[I_CMD])
                vid += 1

    w.write(
        table(PostmortemVersion),
        [
            "id",
            "number",
            "title",
            "markdown",
            "html",
            "summary_text",
            "published_at",
            "search_vector",
            "postmortem_id",
            "published_by_id",
        ],
        vers(),
        sum(versions),
    )
    ev = w.next_id(table(PostmortemEvent))
    kinds = ("created", "submitted", "approved", "published")

    def events():
        eid = ev
        for k, i in enumerate(chosen):
            x = p.inc[i]
            at = p.ts(x[I_RESOLVED])
            for j, kind in enumerate(kinds):
                yield (eid, kind, 1, at + timedelta(days=j), "", x[I_CMD], pm_first + k)
                eid += 1

    w.write(
        table(PostmortemEvent),
        ["id", "kind", "round", "at", "comment", "by_id", "postmortem_id"],
        events(),
        4 * len(chosen),
    )
    rv = w.next_id(m2m_table(Postmortem, "reviewers"))
    rows = []
    for k, i in enumerate(chosen):
        x = p.inc[i]
        people = list(dict.fromkeys((x[I_REP], *x[I_RESP])))  # reviewers are its people already
        rows.extend((pm_first + k, u) for u in people[:2])
    w.write(
        m2m_table(Postmortem, "reviewers"),
        ["id", "postmortem_id", "user_id"],
        ((rv + k, a, b) for k, (a, b) in enumerate(rows)),
        len(rows),
    )
    sv = w.next_id(table(SuspectVerdict))
    rows = [(i, p.inc[i]) for i in chosen if p.inc[i][I_SUSPECT]]
    w.write(
        table(SuspectVerdict),
        ["id", "verdict", "note", "at", "by_id", "deploy_id", "incident_id"],
        (
            (
                sv + k,
                "culprit" if k % 2 == 0 else "ruled_out",
                "",
                p.ts(x[I_RESOLVED]),
                x[I_CMD],
                x[I_SUSPECT],
                p.incident_first + i,
            )
            for k, (i, x) in enumerate(rows)
        ),
        len(rows),
    )
    if w.is_pg:
        started = time.monotonic()
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {table(PostmortemVersion)} SET search_vector = "  # noqa: S608
                "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || "
                "setweight(to_tsvector('english'::regconfig, COALESCE(summary_text, '')), 'B') || "
                "setweight(to_tsvector('english'::regconfig, COALESCE(markdown, '')), 'C') "
                "WHERE search_vector IS NULL AND id >= %s",
                [v_first],
            )
        w.progress.write(f"  search vectors in {time.monotonic() - started:.1f}s")
