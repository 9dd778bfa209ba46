"""The guided five-whys session (`/incidents/<id>/whys/`): one prompt at a time, the whole tree
beside it. Every step is a plain POST that redirects back with ?node=<id> (or ?add=<parent>), so
the page works without JavaScript; htmx only adds live blameless hints and boosted navigation."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import permissions as perms
from ..blameless import check_blameless
from ..forms.whys import (
    CorrectiveActionForm,
    HintsForm,
    LevelForm,
    ReasonForm,
    VersionForm,
    WhyForm,
)
from ..models import ActionItem, Incident, WhyNode
from ..selectors import whys as sel
from ..selectors.incidents import get_incident_for
from ..selectors.whys import get_why_node_for
from ..services import whys as svc
from .utils import run_service


def _hints(text: str, people: list[str]) -> list[dict]:
    if len(text) > svc.MAX_TEXT:  # the form refuses it already; no hints on a novel
        return []
    return [
        {"finding": f, "quote": text[f.start : f.end]} for f in check_blameless(text, people=people)
    ]


def _url(incident: Incident, *, node: int | None = None, add: str | int | None = None) -> str:
    url = reverse("postmortems:whys", args=[incident.pk])
    if node:
        return f"{url}?node={node}#prompt"
    if add is not None:
        return f"{url}?add={add}#prompt"
    return url


def _next_after(incident: Incident, node: WhyNode, step: str) -> str:
    """Where the step's button leads: "deeper" (Why?), "branch" (Another cause) or "save"."""
    if step == "deeper":
        return _url(incident, add=node.pk)
    if step == "branch":
        return _url(incident, add=node.parent_id or "root")
    return _url(incident, node=node.pk)


def _default_focus(tree: sel.WhyTree) -> tuple[sel.TreeNode | None, str | None]:
    """Where a session resumes: the first cause still needing work, else the last one."""
    if not tree.roots:
        return None, "root"
    for item in tree.nodes:
        if not item.covered:
            return item, None
    for branch in sel.branch_progress(tree):
        if not branch.done:
            # Its leaf is answered and covered: the next step is the level below it.
            return None, str(branch.leaf.pk)
    return tree.nodes[-1], None


def _session(
    request: HttpRequest,
    incident: Incident,
    *,
    form: WhyForm | None = None,
    action_form: CorrectiveActionForm | None = None,
    reason_errors: dict | None = None,
    stale: svc.StaleVersion | None = None,
    status: int = 200,
) -> HttpResponse:
    tree = sel.load_tree(incident)
    focus: sel.TreeNode | None = None
    add: str | None = None
    node_param = request.GET.get("node") or request.POST.get("focus_node")
    add_param = request.GET.get("add") or request.POST.get("focus_add")
    if node_param and node_param.isdigit() and int(node_param) in tree.by_id:
        focus = tree.by_id[int(node_param)]
    elif add_param == "root":
        add = "root"
    elif add_param and add_param.isdigit() and int(add_param) in tree.by_id:
        add = add_param
    if focus is None and add is None:
        focus, add = _default_focus(tree)
    parent = tree.by_id[int(add)] if add and add != "root" else None
    if focus is not None:
        question = focus.node.question
        path = tree.path_to(focus.pk)
        level = focus.level
    else:
        question = sel.child_question(parent.node.answer) if parent else sel.root_question(incident)
        path = tree.path_to(parent.pk) if parent else []
        level = parent.level + 1 if parent else 1
    if form is None:
        initial = {"question": question, "parent": parent.pk if parent else None}
        if focus is not None:
            initial.update(
                node=focus.pk,
                answer=focus.node.answer,
                category=focus.node.category,
                version=focus.node.version,
                evidence="\n".join(focus.node.evidence_links),
            )
        form = LevelForm(initial=initial)
    answer_text = form.data.get("answer") if form.is_bound else form.initial.get("answer", "")
    hints = _hints(answer_text, sel.blameless_people(request)) if answer_text else []
    branches = sel.branch_progress(tree)
    required = sel.required_depth(incident)
    context = {
        "nav": "incidents",
        "incident": incident,
        "tree": tree,
        "focus": focus,
        "add": add,
        "parent": parent,
        "path": path if focus is None else path[:-1],
        "level": level,
        "question": question,
        "form": form,
        "action_form": action_form or CorrectiveActionForm(initial={"owner": request.user.pk}),
        "reason_errors": reason_errors or {},
        "stale": stale,
        "hints": hints,
        "action_defaults": svc.action_defaults(severity=incident.severity),
        "action_types": [
            (value, label, svc.action_defaults(severity=incident.severity, type=value))
            for value, label in ActionItem.Type.choices
        ],
        "branches": branches,
        "required": required,
        "uncovered": [n for n in tree.nodes if n.answered and not n.covered],
        "effort": sel.effort_by_level(tree),
        "effort_warnings": sel.effort_warnings(tree),
        "gaps": sel.gaps_of(tree),
        "categories": WhyNode.Category.choices,
        "depth_range": range(1, max(required, tree.max_level, 1) + 1),
        "can_join": not perms.is_incident_person(request.user, incident),
    }
    return render(request, "postmortems/whys/session.html", context, status=status)


def _fail_status(request: HttpRequest, code: int) -> int:
    # htmx does not swap 4xx responses by default; the boosted page must still show the error.
    return 200 if request.htmx else code


def _keep_stale(
    call: Callable[[], svc.LevelSaved],
) -> Callable[[], svc.LevelSaved | svc.StaleVersion]:
    """A stale version is an answer of the session, not an error: the page then shows the
    current text beside the person's own (409) instead of a form error."""

    def run() -> svc.LevelSaved | svc.StaleVersion:
        try:
            return call()
        except svc.StaleVersion as exc:
            return exc

    return run


def _save_level(
    request: HttpRequest, incident: Incident, form: WhyForm, node: WhyNode | None = None
) -> HttpResponse:
    """One level of the session (svc.answer_why): a new cause (below the form's parent) or
    `node` (the page's, else the form's) at its version, with the level form's corrective
    action. Then "Why?" opens the level below, "Another cause" a sibling, "Save" stays."""
    if not form.is_valid():
        return _session(request, incident, form=form, status=_fail_status(request, 400))
    data = form.cleaned_data
    if node is None and data.get("node"):
        node = get_why_node_for(request.user, data["node"], incident=incident)
    parent = None
    if node is None and data.get("parent"):
        parent = get_why_node_for(request.user, data["parent"], incident=incident)
    result, ok = run_service(
        request,
        _keep_stale(
            lambda: svc.answer_why(
                incident=incident,
                by=request.user,
                node=node,
                expected_version=data.get("version"),
                parent=parent,
                answer=data["answer"],
                category=data.get("category") or "",
                question=data.get("question") or None,
                evidence_links=data.get("evidence") or [],
                action_title=data.get("action_title") or "",
                action_type=data.get("action_type") or ActionItem.Type.PREVENT,
            )
        ),
        form=form,
    )
    if isinstance(result, svc.StaleVersion):
        return _stale(request, incident, form, result)
    if not ok or result is None:
        return _session(request, incident, form=form, status=_fail_status(request, 400))
    if result.action is not None:
        messages.success(request, f"Action added: {result.action.title}.")
    return redirect(_next_after(incident, result.node, data["step"]))


def _stale(
    request: HttpRequest, incident: Incident, form: WhyForm, exc: svc.StaleVersion
) -> HttpResponse:
    """Keep the person's text (and action); saving again, at the current version, replaces
    theirs with it. 428 when the form named no version, else 409."""
    form = type(form)({**request.POST.dict(), "version": exc.current_version})
    form.is_valid()
    code = 428 if isinstance(exc, svc.VersionMissing) else 409
    return _session(request, incident, form=form, stale=exc, status=_fail_status(request, code))


@require_POST
def whys_level(request: HttpRequest, pk: int) -> HttpResponse:
    """The session's form: one level in one POST (answer, category, corrective action)."""
    incident = get_incident_for(request.user, pk)
    return _save_level(request, incident, LevelForm(request.POST))


def whys_session(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    return _session(request, incident)


@require_POST
def whys_add(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    return _save_level(request, incident, WhyForm(request.POST))


@require_POST
def whys_update(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    node = get_why_node_for(request.user, node_id, incident=incident)
    form = WhyForm(request.POST)
    if form.is_valid() and form.cleaned_data.get("version") is None:
        # Like the API's 428: a form that does not say which version it edits could
        # overwrite anything; show the current text beside the person's own.
        return _stale(request, incident, form, svc.VersionMissing(node))
    return _save_level(request, incident, form, node)


@require_POST
def whys_action(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    node = get_why_node_for(request.user, node_id, incident=incident)
    form = CorrectiveActionForm(request.POST)
    if form.is_valid():
        item, ok = run_service(
            request,
            lambda: svc.add_corrective_action(node=node, by=request.user, **form.cleaned_data),
            form=form,
        )
        if ok and item is not None:
            messages.success(request, f"Action added: {item.title}.")
            return redirect(_url(incident, node=node.pk))
    return _session(request, incident, action_form=form, status=_fail_status(request, 400))


def _reason_step(
    request: HttpRequest,
    pk: int,
    node_id: int,
    service: Callable[..., WhyNode],
    label: str,
) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    node = get_why_node_for(request.user, node_id, incident=incident)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write the reason first.")
        return redirect(_url(incident, node=node.pk))
    _, ok = run_service(
        request,
        lambda: service(
            node=node,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
            by=request.user,
        ),
        success=label,
    )
    if ok:
        # Resume where the session still needs work (often the level below another branch).
        return redirect(_url(incident) + "#prompt")
    return redirect(_url(incident, node=node.pk))


@require_POST
def whys_risk(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    return _reason_step(request, pk, node_id, svc.accept_risk, "Risk accepted.")


@require_POST
def whys_stop(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    return _reason_step(request, pk, node_id, svc.set_stop_reason, "This branch stops here.")


@require_POST
def whys_delete(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    node = get_why_node_for(request.user, node_id, incident=incident)
    form = VersionForm(request.POST)
    if not form.is_valid():
        # Like the API's 428: deleting a cause (and its subtree) names the version it saw.
        messages.error(request, svc.VERSION_REQUIRED)
        return _session(request, incident, status=_fail_status(request, 428))
    _, ok = run_service(
        request,
        lambda: svc.delete_why(
            node=node, expected_version=form.cleaned_data["version"], by=request.user
        ),
        success="Cause deleted (it stays in the history).",
    )
    if not ok:
        return redirect(_url(incident, node=node.pk))
    return redirect(_url(incident, node=node.parent_id) if node.parent_id else _url(incident))


@require_POST
def whys_hints(request: HttpRequest, pk: int) -> HttpResponse:
    """Blameless hints for the text being typed: warnings, never edits."""
    get_incident_for(request.user, pk)
    form = HintsForm(request.POST)
    text = form.text_to_check() if form.is_valid() else ""
    hints = _hints(text, sel.blameless_people(request))
    return render(request, "postmortems/whys/_hints.html", {"hints": hints})
