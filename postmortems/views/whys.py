"""The guided five-whys session (`/incidents/<id>/whys/`): one prompt at a time, the whole tree
beside it. Every step is a plain POST that redirects back with ?node=<id> (or ?add=<parent>), so
the page works without JavaScript; htmx only adds live blameless hints and boosted navigation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import permissions as perms
from ..blameless import check_blameless
from ..forms.whys import CorrectiveActionForm, LevelForm, ReasonForm, VersionForm, WhyForm
from ..models import ActionItem, Incident, WhyNode
from ..selectors import whys as sel
from ..selectors.incidents import get_incident_for
from ..services import whys as svc
from .utils import apply_service_errors, error_text

STEPS = ("deeper", "branch", "save")


def _hints(text: str, people: list[str]) -> list[dict]:
    text = (text or "")[:5000]
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


def _node_for(incident: Incident, node_id: int) -> WhyNode:
    node = WhyNode.objects.filter(pk=node_id, incident=incident, is_deleted=False).first()
    if node is None:
        raise Http404("No such cause.")
    node.incident = incident
    return node


def _next_after(incident: Incident, node: WhyNode, step: str) -> str:
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
    people = sel.blameless_people(request)
    hints = _hints(answer_text, people) if answer_text else []
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


@require_POST
def whys_level(request: HttpRequest, pk: int) -> HttpResponse:
    """One level in one POST: the answer, its category and its corrective action, saved together
    (svc.answer_why); "Why?" then opens the level below. A cause being edited needs its version."""
    incident = get_incident_for(request.user, pk)
    form = LevelForm(request.POST)
    step = request.POST.get("step") or request.POST.get("default_step") or "deeper"
    if form.is_valid():
        data = form.cleaned_data
        node = _node_for(incident, data["node"]) if data.get("node") else None
        parent = _node_for(incident, data["parent"]) if data.get("parent") and not node else None
        try:
            saved = svc.answer_why(
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
                action_type=data.get("action_type") or "prevent",
            )
        except svc.StaleVersion as exc:
            # Keep the person's text (and action); saving again replaces theirs with it.
            form = LevelForm({**request.POST.dict(), "version": exc.current_version})
            form.is_valid()
            return _session(
                request, incident, form=form, stale=exc, status=_fail_status(request, 409)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if saved.action is not None:
                messages.success(request, f"Action added: {saved.action.title}.")
            return redirect(_next_after(incident, saved.node, step if step in STEPS else "deeper"))
    return _session(request, incident, form=form, status=_fail_status(request, 400))


def whys_session(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    return _session(request, incident)


@require_POST
def whys_add(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    form = WhyForm(request.POST)
    step = request.POST.get("step") or "deeper"
    if form.is_valid():
        data = form.cleaned_data
        parent = _node_for(incident, data["parent"]) if data.get("parent") else None
        try:
            node = svc.add_why(
                incident=incident,
                author=request.user,
                parent=parent,
                answer=data["answer"],
                category=data.get("category") or "",
                question=data.get("question") or None,
                evidence_links=data.get("evidence") or [],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect(_next_after(incident, node, step if step in STEPS else "deeper"))
    return _session(request, incident, form=form, status=_fail_status(request, 400))


@require_POST
def whys_update(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    node = _node_for(incident, node_id)
    form = WhyForm(request.POST)
    step = request.POST.get("step") or "deeper"
    if form.is_valid():
        data = form.cleaned_data
        changes = {
            name: value
            for name, value in (
                ("answer", data["answer"].strip()),
                ("question", (data.get("question") or "").strip() or node.question),
                ("category", data.get("category") or ""),
                ("evidence_links", data.get("evidence") or []),
            )
            if value != getattr(node, name)
        }
        try:
            if data.get("version") is None:
                # Like the API's 428: a form that does not say which version it edits could
                # overwrite anything; show the current text beside the person's own.
                raise svc.VersionMissing(node)
            if changes:
                node = svc.update_why(
                    node=node, expected_version=data["version"], by=request.user, **changes
                )
            elif data["version"] != node.version:
                raise svc.StaleVersion(node)
        except svc.StaleVersion as exc:
            # Keep the user's text; the next save (at the current version) replaces theirs.
            form = WhyForm({**request.POST.dict(), "version": exc.current_version})
            form.is_valid()
            code = 428 if isinstance(exc, svc.VersionMissing) else 409
            return _session(
                request, incident, form=form, stale=exc, status=_fail_status(request, code)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect(_next_after(incident, node, step if step in STEPS else "deeper"))
    return _session(request, incident, form=form, status=_fail_status(request, 400))


@require_POST
def whys_action(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    node = _node_for(incident, node_id)
    form = CorrectiveActionForm(request.POST)
    if form.is_valid():
        try:
            item = svc.add_corrective_action(node=node, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Action added: {item.title}.")
            return redirect(_url(incident, node=node.pk))
    return _session(request, incident, action_form=form, status=_fail_status(request, 400))


def _reason_step(request: HttpRequest, pk: int, node_id: int, service, label: str, key: str):
    incident = get_incident_for(request.user, pk)
    node = _node_for(incident, node_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            service(
                node=node,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
                by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, label)
            # Resume where the session still needs work (often the level below another branch).
            return redirect(_url(incident) + "#prompt")
    else:
        messages.error(request, "Write the reason first.")
    return redirect(_url(incident, node=node.pk))


@require_POST
def whys_risk(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    return _reason_step(request, pk, node_id, svc.accept_risk, "Risk accepted.", "risk")


@require_POST
def whys_stop(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    return _reason_step(
        request, pk, node_id, svc.set_stop_reason, "This branch stops here.", "stop"
    )


@require_POST
def whys_delete(request: HttpRequest, pk: int, node_id: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    node = _node_for(incident, node_id)
    form = VersionForm(request.POST)
    if not form.is_valid():
        # Like the API's 428: deleting a cause (and its subtree) names the version it saw.
        messages.error(request, svc.VERSION_REQUIRED)
        return _session(request, incident, status=_fail_status(request, 428))
    try:
        svc.delete_why(node=node, expected_version=form.cleaned_data["version"], by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect(_url(incident, node=node.pk))
    messages.success(request, "Cause deleted (it stays in the history).")
    return redirect(_url(incident, node=node.parent_id) if node.parent_id else _url(incident))


@require_POST
def whys_hints(request: HttpRequest, pk: int) -> HttpResponse:
    """Blameless hints for the text being typed: warnings, never edits."""
    get_incident_for(request.user, pk)
    text = request.POST.get("answer") or request.POST.get("text") or ""
    hints = _hints(text, sel.blameless_people(request))
    return render(request, "postmortems/whys/_hints.html", {"hints": hints})
