"""generate_scale steps of incidents: incidents, timeline entries, alerts, webhook deliveries."""

from __future__ import annotations

import bisect
import json
from datetime import datetime, timedelta

from metrics_link.models import Alert, WebhookDelivery

from ..models import Incident, IncidentAlert, TimelineEntry
from .plan import (
    I_BIG,
    I_CMD,
    I_REASON,
    I_REP,
    I_RESOLVED,
    I_RESP,
    I_RESTRICTED,
    I_SEV,
    I_STATUS,
    I_SUSPECT,
    I_SVC,
    I_SVCS,
    I_T,
    SYMPTOMS,
    Plan,
    random_words,
    spread,
)
from .writer import Writer, m2m_table, table


def step_incidents(p: Plan, w: Writer) -> None:
    r = p.rng("incidents")
    n = p.sizes["incidents"]
    p.incident_first = w.next_id(table(Incident))
    weights = p.service_weight
    cum = []
    acc = 0.0
    for wt in weights:
        acc += wt
        cum.append(acc)
    times = sorted(r.random() * (p.span - 3600) for _ in range(n))
    recent = p.span - 36 * 3600  # the last day and a half are still open
    for i, t in enumerate(times):
        s = bisect.bisect(cum, r.random() * acc)
        s = min(s, len(p.services) - 1)
        suspect = None
        pt = p.prod_times[s]
        if pt and r.random() < 0.6:
            k = bisect.bisect(pt, t) - 1
            if k >= 0:
                t = pt[k] + 300 + r.random() * 10_000
                suspect = p.prod_ids[s][k]
        t = min(t, p.span - 600)
        big = i % 1000 == 7
        svcs = [s]
        extra = 2 if big else (1 if r.random() < 0.15 else 0)
        for _ in range(extra):
            o = r.randrange(len(p.services))
            if o not in svcs:
                svcs.append(o)
        ti = p.service_team[s]
        if ti < 0:
            ti = r.randrange(len(p.teams))
        members = p.team_members[ti]
        cmd = members[r.randrange(len(members))]
        rep = members[r.randrange(len(members))]
        n_resp = 8 if big else r.choice((0, 1, 1, 2, 2, 3, 4))
        resp = tuple(dict.fromkeys(members[r.randrange(len(members))] for _ in range(n_resp)))
        roll = r.random()
        sev = "sev1" if roll < 0.03 else "sev2" if roll < 0.15 else "sev3" if roll < 0.6 else "sev4"
        if big:
            sev = "sev1"
        if t > recent or r.random() < 0.0005:
            status = "investigating" if r.random() < 0.6 else "mitigated"
            reason = ""
        else:
            status = "closed" if r.random() < 0.7 else "resolved"
            reason = "resolved"
            if status == "closed":
                x = r.random()
                reason = "false_alarm" if x < 0.07 else "duplicate" if x < 0.1 else "resolved"
        resolved = t + 600 + r.random() * 20_000 if status in ("resolved", "closed") else None
        restricted = r.random() < 0.05 and not big
        p.inc.append(
            (
                t,
                s,
                ti,
                sev,
                status,
                restricted,
                cmd,
                rep,
                resp,
                tuple(svcs),
                suspect,
                resolved,
                reason,
                big,
            )
        )

    def incidents():
        for i, x in enumerate(p.inc):
            iid = p.incident_first + i
            t = x[I_T]
            started = p.ts(t)
            svc = p.service_slug[x[I_SVC]]
            symptom = SYMPTOMS[r.randrange(len(SYMPTOMS))]
            detected = started + timedelta(seconds=60 + r.randrange(1200))
            status = x[I_STATUS]
            mitigated = resolved = closed = None
            if status != "investigating":
                mitigated = detected + timedelta(seconds=300 + r.randrange(5000))
            if x[I_RESOLVED] is not None:
                resolved = max(p.ts(x[I_RESOLVED]), mitigated)
                mitigated = min(mitigated, resolved)
            if status == "closed":
                closed = resolved + timedelta(hours=1 + r.randrange(72))
            reason = x[I_REASON] if status == "closed" else ""
            dup = None
            if reason == "duplicate" and i > 0:
                dup = iid - 1 - r.randrange(min(i, 5))
            origin = r.choice(("alert", "alert", "web", "web", "api", "cli"))
            yield (
                iid,
                f"{svc}: {symptom}" + (" (major)" if x[I_BIG] else ""),
                f"{svc} showed {symptom} for customers; {random_words(r, 12)}.",
                f"Customers saw {symptom} on {svc}; about {r.randrange(1, 40)}% of requests failed.",
                x[I_SEV],
                status,
                "restricted" if x[I_RESTRICTED] else "public",
                origin,
                started,
                "alert" if origin == "alert" else "human",
                detected,
                "alert" if origin == "alert" else "human",
                mitigated,
                "human",
                resolved,
                "human",
                closed,
                reason,
                x[I_SUSPECT] is None and r.random() < 0.3,
                False,
                None,
                started,
                closed or resolved or started,
                x[I_CMD],
                dup,
                None,
                x[I_REP],
            )

    w.write(
        table(Incident),
        [
            "id",
            "title",
            "summary",
            "impact",
            "severity",
            "status",
            "visibility",
            "origin",
            "started_at",
            "started_at_source",
            "detected_at",
            "detected_at_source",
            "mitigated_at",
            "mitigated_at_source",
            "resolved_at",
            "resolved_at_source",
            "closed_at",
            "close_reason",
            "no_deploy_involved",
            "is_deleted",
            "deleted_at",
            "created_at",
            "updated_at",
            "commander_id",
            "duplicate_of_id",
            "mitigated_by_deploy_id",
            "reporter_id",
        ],
        incidents(),
        n,
    )
    sv = w.next_id(m2m_table(Incident, "services"))
    rows = [(p.incident_first + i, p.services[s]) for i, x in enumerate(p.inc) for s in x[I_SVCS]]
    w.write(
        m2m_table(Incident, "services"),
        ["id", "incident_id", "service_id"],
        ((sv + k, a, b) for k, (a, b) in enumerate(rows)),
        len(rows),
    )
    rs = w.next_id(m2m_table(Incident, "responders"))
    rows = [(p.incident_first + i, u) for i, x in enumerate(p.inc) for u in x[I_RESP]]
    w.write(
        m2m_table(Incident, "responders"),
        ["id", "incident_id", "user_id"],
        ((rs + k, a, b) for k, (a, b) in enumerate(rows)),
        len(rows),
    )


def step_timeline(p: Plan, w: Writer) -> None:
    r = p.rng("timeline")
    total = p.sizes["timeline"]
    n = len(p.inc)
    bigs = [i for i, x in enumerate(p.inc) if x[I_BIG]]
    big_each = min(150, total // max(1, 4 * len(bigs))) if bigs else 0
    rest = total - big_each * len(bigs)
    normal = n - len(bigs)
    first = w.next_id(table(TimelineEntry))

    def rows():
        eid = first
        k = 0
        for i, x in enumerate(p.inc):
            if x[I_BIG]:
                m = big_each
            else:
                m = spread(rest, normal, k)
                k += 1
            iid = p.incident_first + i
            t0 = x[I_T]
            t1 = x[I_RESOLVED] or (t0 + 7200)
            people = (x[I_CMD], x[I_REP], *x[I_RESP])
            for j in range(m):
                at = p.ts(t0 + (t1 - t0) * (j + r.random()) / max(m, 1))
                if j == 0:
                    kind, source, body, key = "status", "machine", "Incident opened.", f"gen:{j}"
                elif j % 5 == 3 and x[I_SUSPECT]:
                    kind, source = "deploy", "machine"
                    body, key = f"Deploy to {p.service_slug[x[I_SVC]]}.", f"gen:{j}"
                elif j % 7 == 5:
                    kind, source, body, key = (
                        "alert",
                        "machine",
                        f"Alert: {random_words(r, 3)}",
                        f"gen:{j}",
                    )
                else:
                    kind, source, key = "note", "human", ""
                    body = f"{random_words(r, 10)}."
                yield (
                    eid,
                    at,
                    kind,
                    body,
                    source,
                    j % 11 == 1,
                    key,
                    False,
                    at,
                    None,
                    people[j % len(people)] if source == "human" else None,
                    x[I_SUSPECT] if kind == "deploy" else None,
                    iid,
                )
                eid += 1

    w.write(
        table(TimelineEntry),
        [
            "id",
            "at",
            "kind",
            "body",
            "source",
            "starred",
            "dedupe_key",
            "is_deleted",
            "created_at",
            "alert_id",
            "author_id",
            "deploy_id",
            "incident_id",
        ],
        rows(),
        total,
    )


def step_alerts(p: Plan, w: Writer) -> None:
    r = p.rng("alerts")
    total = p.sizes["alerts"]
    first = w.next_id(table(Alert))
    link_first = w.next_id(table(IncidentAlert))
    links: list[tuple[int, int, int, datetime]] = []  # (id, alert, incident, at)

    def rows():
        aid = first
        # Half the incidents were opened by an alert (one or two alerts each)...
        for i, x in enumerate(p.inc):
            if aid - first >= total * 0.6:
                break
            if i % 2:
                continue
            for j in range(1 + (r.random() < 0.5)):
                at = p.ts(x[I_T] + 30 * j)
                links.append((link_first + len(links), aid, p.incident_first + i, at))
                ends = p.ts(x[I_RESOLVED]) if x[I_RESOLVED] else None
                yield alert_row(r, aid, p.services[x[I_SVC]], at, ends, "critical", f"i{i}")
                aid += 1
        # ...the rest is noise: warnings that opened nothing.
        while aid - first < total:
            s = r.randrange(len(p.services))
            at = p.ts(r.random() * p.span)
            yield alert_row(r, aid, p.services[s], at, at + timedelta(minutes=5), "warning", "n")
            aid += 1

    w.write(
        table(Alert),
        [
            "id",
            "source",
            "name",
            "severity",
            "status",
            "labels",
            "summary",
            "url",
            "starts_at",
            "ends_at",
            "dedupe_key",
            "group_key",
            "received_at",
            "service_id",
            "delivery_id",
            "severity_note",
            "outcome",
        ],
        ((*row, "", "") for row in rows()),
        total,
    )
    w.write(
        table(IncidentAlert),
        ["id", "opened", "linked_at", "alert_id", "incident_id"],
        (
            (lid, k == 0 or links[k - 1][2] != inc, at, a, inc)
            for k, (lid, a, inc, at) in enumerate(links)
        ),
        len(links),
    )


def alert_row(r, aid, service_id, at, ends, severity, group):
    name = r.choice(("HighErrorRate", "HighLatency", "QueueBacklog", "DiskFull", "PodCrashLoop"))
    return (
        aid,
        "alertmanager" if aid % 4 else "pagerduty",
        name,
        severity,
        "resolved" if ends else "firing",
        json.dumps({"alertname": name, "severity": severity}),
        f"{name} on service {service_id}",
        "",
        at,
        ends,
        f"gen-{aid}",
        f"{group}-{aid // 2}",
        at,
        service_id,
        None,
    )


def step_webhooks(p: Plan, w: Writer) -> None:
    r = p.rng("webhooks")
    total = p.sizes["webhook_deliveries"]
    first = w.next_id(table(WebhookDelivery))
    providers = (("github", "push"), ("github", "deployment_status"), ("gitlab", "Deployment Hook"))
    providers += (("alertmanager", "alert"), ("alertmanager", "alert"), ("pagerduty", "incident"))

    def rows():
        for k in range(total):
            provider, event = providers[k % len(providers)]
            at = p.ts(p.span * (k + r.random()) / total)
            x = r.random()
            status = "processed" if x < 0.97 else "failed" if x < 0.99 else "ignored"
            body = json.dumps(
                {"event": event, "service": p.service_slug[r.randrange(len(p.services))], "n": k}
            ).encode()
            yield (
                first + k,
                provider,
                f"gen-{k}",
                event,
                json.dumps({"content-type": "application/json", "user-agent": provider}),
                body,
                status,
                "Timeout while processing" if status == "failed" else "",
                1,
                at,
                at + timedelta(seconds=1) if status != "failed" else None,
            )

    w.write(
        table(WebhookDelivery),
        [
            "id",
            "provider",
            "key",
            "event",
            "headers",
            "body",
            "status",
            "error",
            "attempts",
            "received_at",
            "processed_at",
        ],
        rows(),
        total,
    )
