"""generate_scale steps of what incidents teach: why chains, retrospectives, action items and
reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ..models import ActionItem, ReminderSent, RetroItem, Retrospective, WhyNode
from .plan import (
    CATEGORIES,
    CAUSES,
    I_BIG,
    I_CMD,
    I_REASON,
    I_RESOLVED,
    I_SEV,
    I_T,
    I_TEAM,
    Plan,
    learned_from,
    random_words,
    spread,
)
from .writer import Writer, table


def step_whys(p: Plan, w: Writer) -> None:
    r = p.rng("whys")
    total = p.sizes["why_nodes"]
    first = w.next_id(table(WhyNode))
    order = [i for i, x in enumerate(p.inc) if learned_from(x) and x[I_SEV] in ("sev1", "sev2")]
    order.reverse()  # the newest incidents have their whys

    def rows():
        nid = first
        for i in order:
            if nid - first >= total:
                return
            x = p.inc[i]
            iid = p.incident_first + i
            at = p.ts(x[I_RESOLVED] or x[I_T])
            ids: list[int] = []
            branches = 4 if x[I_BIG] else (2 if r.random() < 0.2 else 1)
            for b in range(branches):
                parent = None
                for level in range(1, 6):
                    if nid - first >= total:
                        break
                    if b > 0 and level == 1:
                        parent = ids[0]
                        continue
                    cause = CAUSES[r.randrange(len(CAUSES))]
                    yield (
                        nid,
                        level,
                        f"Why did {'the impact' if level == 1 else 'that'} happen?",
                        f"Because of {cause}; {random_words(r, 6)}.",
                        CATEGORIES[r.randrange(len(CATEGORIES))],
                        "[]",
                        "",
                        "",
                        1,
                        False,
                        at,
                        at,
                        x[I_CMD],
                        iid,
                        parent,
                        None,
                    )
                    ids.append(nid)
                    parent = nid
                    nid += 1
            p.why_ids[i] = ids

    w.write(
        table(WhyNode),
        [
            "id",
            "level",
            "question",
            "answer",
            "category",
            "evidence_links",
            "accepted_risk_reason",
            "stop_reason",
            "version",
            "is_deleted",
            "created_at",
            "updated_at",
            "author_id",
            "incident_id",
            "parent_id",
            "updated_by_id",
        ],
        rows(),
        total,
    )


def step_retros(p: Plan, w: Writer) -> list[tuple[int, int, date]]:
    """A retrospective per team per month, four items each. Returns (retro id, team idx, end)."""
    r = p.rng("retros")
    first = w.next_id(table(Retrospective))
    months = max(1, int(p.span // (30 * 86400)))
    retros = []
    for ti in range(len(p.teams)):
        for m in range(months):
            end = (p.start + timedelta(days=30 * (m + 1))).date()
            retros.append((first + len(retros), ti, end))
    w.write(
        table(Retrospective),
        [
            "id",
            "name",
            "sprint_start",
            "sprint_end",
            "summary",
            "published",
            "published_at",
            "is_deleted",
            "created_at",
            "updated_at",
            "created_by_id",
            "facilitator_id",
            "team_id",
        ],
        (
            (
                rid,
                f"Sprint {end:%Y-%m}",
                end - timedelta(days=13),
                end,
                f"We learned: {random_words(r, 8)}.",
                True,
                datetime.combine(end, datetime.min.time(), UTC),
                False,
                datetime.combine(end, datetime.min.time(), UTC),
                datetime.combine(end, datetime.min.time(), UTC),
                p.team_manager[ti],
                p.team_manager[ti],
                p.teams[ti],
            )
            for rid, ti, end in retros
        ),
        len(retros),
    )
    item_first = w.next_id(table(RetroItem))
    cols = ("start", "stop", "continue", "learned")
    w.write(
        table(RetroItem),
        ["id", "column", "text", "is_deleted", "created_at", "author_id", "retrospective_id"],
        (
            (
                item_first + 4 * k + j,
                cols[j],
                f"{random_words(r, 6)}",
                False,
                datetime.combine(end, datetime.min.time(), UTC),
                p.team_members[ti][j % len(p.team_members[ti])],
                rid,
            )
            for k, (rid, ti, end) in enumerate(retros)
            for j in range(4)
        ),
        4 * len(retros),
    )
    return retros


def step_actions(p: Plan, w: Writer, retros: list[tuple[int, int, date]]) -> None:
    r = p.rng("actions")
    total = p.sizes["action_items"]
    first = w.next_id(table(ActionItem))
    today = p.anchor.date()
    reminders: list[tuple] = []
    targets = [
        i
        for i, x in enumerate(p.inc)
        if x[I_REASON] != "false_alarm" and x[I_REASON] != "duplicate"
    ]
    n_retro = min(len(retros), total // 50)
    per_incident = total - n_retro - sum(len(v) for v in p.why_ids.values())
    per_incident = max(0, per_incident)
    prio = {"sev1": "p1", "sev2": "p1", "sev3": "p2", "sev4": "p3"}

    def item(aid, title, incident_id, why_id, retro_id, team_i, owner, created, due, sev, creator):
        late = (today - due).days
        x = r.random()
        if late > 30:
            status = (
                "done"
                if x < 0.88
                else "wont_do"
                if x < 0.94
                else "open"
                if x < 0.98
                else "in_progress"
            )
        elif late > 0:
            status = "done" if x < 0.5 else "open" if x < 0.8 else "in_progress"
        else:
            status = "done" if x < 0.25 else "open" if x < 0.75 else "in_progress"
        closed = None
        if status in ("done", "wont_do"):
            closed = min(
                p.anchor,
                datetime.combine(due, datetime.min.time(), UTC)
                + timedelta(days=r.randint(-10, 20)),
            )
            closed = max(closed, created)
        elif late >= 0:
            manager = p.team_manager[team_i]
            kinds = [("due", owner)]
            if late >= 7:
                kinds.append(("escalated", manager))
            if late >= 14:
                kinds.append(("flagged", owner))
            for kind, recipient in kinds:
                sent = p.anchor - timedelta(
                    days=max(
                        0, late - (7 if kind == "escalated" else 14 if kind == "flagged" else 0)
                    )
                )
                reminders.append((kind, due.isoformat(), sent, sent, 1, aid, recipient))
        est = Decimal(r.choice((2, 4, 8, 16, 24, 40)))
        return (
            aid,
            title,
            f"{random_words(r, 15)}.",
            due,
            prio.get(sev, "p2"),
            r.choice(("prevent", "prevent", "detect", "mitigate", "process")),
            est,
            est if status == "done" else None,
            "",
            status,
            "Verified in production." if status == "done" else "",
            "Superseded by a redesign." if status == "wont_do" else "",
            closed,
            False,
            created,
            closed or created,
            owner if closed else None,
            creator,
            owner,
            p.teams[team_i],
            incident_id,
            why_id,
            retro_id,
        )

    def rows():
        aid = first
        for k, i in enumerate(targets):
            x = p.inc[i]
            iid = p.incident_first + i
            members = p.team_members[x[I_TEAM]]
            created = p.ts((x[I_RESOLVED] or x[I_T]) + 3600)
            m = spread(per_incident, len(targets), k)
            whys = p.why_ids.get(i, [])
            for j in range(m + len(whys)):
                owner = members[r.randrange(len(members))]
                due = (created + timedelta(days=r.randint(5, 60))).date()
                why = whys[j] if j < len(whys) else None
                title = f"{r.choice(('Add', 'Fix', 'Document', 'Alert on', 'Automate'))} {random_words(r, 4)}"
                yield item(
                    aid, title, iid, why, None, x[I_TEAM], owner, created, due, x[I_SEV], x[I_CMD]
                )
                aid += 1
        for rid, ti, end in retros[:n_retro]:
            members = p.team_members[ti]
            created = datetime.combine(end, datetime.min.time(), UTC)
            due = end + timedelta(days=21)
            owner = members[r.randrange(len(members))]
            yield item(
                aid,
                f"Retro: {random_words(r, 4)}",
                None,
                None,
                rid,
                ti,
                owner,
                created,
                due,
                "sev3",
                owner,
            )
            aid += 1

    w.write(
        table(ActionItem),
        [
            "id",
            "title",
            "description",
            "due_on",
            "priority",
            "type",
            "estimated_hours",
            "actual_hours",
            "ticket_url",
            "status",
            "verification_note",
            "wont_do_reason",
            "closed_at",
            "is_deleted",
            "created_at",
            "updated_at",
            "closed_by_id",
            "created_by_id",
            "owner_id",
            "team_id",
            "incident_id",
            "why_node_id",
            "retrospective_id",
        ],
        rows(),
        total,
    )
    rem = w.next_id(table(ReminderSent))
    w.write(
        table(ReminderSent),
        [
            "id",
            "kind",
            "period",
            "created_at",
            "sent_at",
            "attempts",
            "action_item_id",
            "recipient_id",
        ],
        ((rem + k, *row) for k, row in enumerate(reminders)),
        len(reminders),
    )
