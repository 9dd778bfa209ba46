"""Postmortem pages: the editor, the read page, the library, downloads and the Atom feed. Thin."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_POST

from metrics_link.links import absolute_url
from metrics_link.models import Service, Team

from .. import permissions as perms
from ..display import display_name
from ..forms.documents import REFRESH, REGENERATE_PREFIX, SAVE, SUBMIT, CommentForm, DraftForm
from ..models import Incident, WhyNode
from ..models.documents import SECTION_TITLES, Postmortem
from ..selectors import documents as sel
from ..selectors.feeds import user_for_feed_token
from ..selectors.incidents import get_incident_for
from ..services import documents as svc
from ..services.draft_conflicts import StaleDraft
from .pagination import CappedPaginator
from .utils import run_service


def _editor_redirect(incident_pk: int, anchor: str = "") -> HttpResponse:
    url = reverse("postmortems:postmortem-editor", args=[incident_pk])
    return redirect(url + (f"#{anchor}" if anchor else ""))


def _render_editor(
    request: HttpRequest,
    pm: Postmortem,
    form: DraftForm | None = None,
    *,
    status: int = 200,
    stale: StaleDraft | None = None,
) -> HttpResponse:
    choices = sel.reviewer_choices(pm.incident)
    if form is None:
        form = DraftForm(postmortem=pm, reviewer_choices=choices)
    ctx = sel.editor_context(pm, request.user)
    conflicts = {c.key: c for c in stale.conflicts} if stale else {}
    for section in ctx["sections"]:
        field = form[section["key"]]
        section["value"] = field.value() or ""
        section["errors"] = field.errors
        section["conflict"] = conflicts.get(section["key"])
        section["unsaved"] = form.is_bound and section["value"].replace("\r\n", "\n").strip() != (
            section["text"].strip()
        )
    chosen = form["reviewers"].value() or []
    problems = [str(e) for errors in form.errors.values() for e in errors] if form.is_bound else []
    ctx.update(
        {
            "nav": "postmortems",
            "form": form,
            "stale": stale,
            "unsaved": form.is_bound,
            "problems": problems,
            "reviewer_choices": choices,
            "reviewer_ids": {int(i) for i in chosen if str(i).isdigit()},
        }
    )
    return render(request, "postmortems/documents/editor.html", ctx, status=status)


def editor(request: HttpRequest, pk: int) -> HttpResponse:
    incident, pm = sel.find_postmortem_for(request.user, pk)
    if pm is None:
        return render(
            request,
            "postmortems/documents/start.html",
            {"nav": "postmortems", "incident": incident},
        )
    return _render_editor(request, pm)


@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_incident_for(request.user, pk)
    run_service(
        request,
        lambda: svc.generate_draft(incident=incident, by=request.user),
        success="Draft generated from the incident.",
    )
    return _editor_redirect(incident.pk)


def _saved_note(changed: list[str]) -> str:
    if not changed:
        return "Nothing changed in the text."
    return "Saved: " + ", ".join(SECTION_TITLES[k] for k in changed) + "."


@require_POST
def save(request: HttpRequest, pk: int, action: str = "") -> HttpResponse:
    """The one editor form: save every section (and the reviewers on screen), then do what the
    pressed button says: nothing more, submit for review, or regenerate. On a validation error or
    a stale version the page is shown again with everything the person typed."""
    pm = sel.get_postmortem_for(request.user, pk)
    # Who may write is decided before the form: a refused writer gets 403, not a form error.
    perms.require(perms.can_edit_postmortem(request.user, pm), perms.incident_refusal(pm.incident))
    form = DraftForm(
        request.POST, postmortem=pm, reviewer_choices=sel.reviewer_choices(pm.incident)
    )
    action = action or request.POST.get("action", SAVE)
    if not form.is_valid():
        return _render_editor(request, pm, form, status=400)
    regenerate = action == REFRESH or action.startswith(REGENERATE_PREFIX)
    key = action.removeprefix(REGENERATE_PREFIX) if action.startswith(REGENERATE_PREFIX) else ""
    if key and key not in SECTION_TITLES:
        raise Http404("No such section.")
    draft = {
        "postmortem": pm,
        "sections": form.sections(),
        "expected_version": form.cleaned_data["version"],
        "reviewers": form.chosen_reviewers(),
        "by": request.user,
    }

    def step() -> tuple[str, str] | StaleDraft:
        """The pressed button's service call: (message, anchor), or the stale save's answer."""
        try:
            if action == SUBMIT:
                svc.submit_for_review(**draft, override_reason=form.cleaned_data["override_reason"])
                return "Submitted for review. The reviewers were told by mail.", "review"
            if regenerate:
                _saved, kept = svc.save_and_regenerate(**draft, key=key)
                note = "Saved, and regenerated from the incident's data."
                if kept:
                    note += " Kept the team's text in: " + ", ".join(
                        SECTION_TITLES[k] for k in kept
                    )
                    note += "."
                return note, f"section-{key}" if key else ""
            _saved, changed = svc.save_draft(**draft)
            return _saved_note(changed), ""
        except StaleDraft as exc:
            return exc

    outcome, ok = run_service(request, step, form=form)
    if not ok or outcome is None:
        return _render_editor(request, pm, form, status=400)
    if isinstance(outcome, StaleDraft):
        return _render_stale(request, pk, outcome)
    note, anchor = outcome
    messages.success(request, note)
    return _editor_redirect(pm.incident_id, anchor)


def _render_stale(request: HttpRequest, pk: int, stale: StaleDraft) -> HttpResponse:
    """The editor again after a stale save: the draft as saved now, the merged text on screen."""
    data = request.POST.copy()
    for key, text in stale.merged.items():
        data[key] = text  # replaces (QueryDict.update would append)
    data["version"] = str(stale.current_version)
    fresh = sel.get_postmortem_for(request.user, pk)
    merged = DraftForm(
        data, postmortem=fresh, reviewer_choices=sel.reviewer_choices(fresh.incident)
    )
    merged.is_valid()
    return _render_editor(request, fresh, merged, status=409, stale=stale)


def _comment(request: HttpRequest) -> str | None:
    """The reviewer's comment, or None (with the reason shown) when the form refuses it."""
    form = CommentForm(request.POST)
    if form.is_valid():
        return form.cleaned_data["comment"]
    messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return None


@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    pm = sel.get_postmortem_for(request.user, pk)
    comment = _comment(request)
    if comment is not None:
        run_service(
            request,
            lambda: svc.approve(postmortem=pm, by=request.user, comment=comment),
            success="Approved.",
        )
    return _editor_redirect(pm.incident_id, "review")


@require_POST
def request_changes(request: HttpRequest, pk: int) -> HttpResponse:
    pm = sel.get_postmortem_for(request.user, pk)
    comment = _comment(request)
    if comment is not None:
        run_service(
            request,
            lambda: svc.request_changes(postmortem=pm, by=request.user, comment=comment),
            success="Changes requested; the draft is back with its authors.",
        )
    return _editor_redirect(pm.incident_id, "review")


@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    pm = sel.get_postmortem_for(request.user, pk)
    _version, ok = run_service(
        request,
        lambda: svc.publish(postmortem=pm, by=request.user),
        success="Published to everyone who can see this incident.",
    )
    if ok:
        return redirect(pm.get_absolute_url())
    return _editor_redirect(pm.incident_id, "review")


def detail(request: HttpRequest, pk: int, number: int | None = None) -> HttpResponse:
    pm = sel.get_postmortem_for(request.user, pk, published=True)
    versions = list(pm.versions.select_related("published_by").order_by("-number"))
    if number is None:
        version = pm.latest_version
    else:
        version = next((v for v in versions if v.number == number), None)
        if version is None:
            raise Http404("No such version.")
    return render(
        request,
        "postmortems/documents/detail.html",
        {
            "nav": "postmortems",
            "postmortem": pm,
            "incident": pm.incident,
            "version": version,
            "is_latest": version.pk == pm.latest_version_id,
            "versions": versions,
            "trail": sel.review_trail(pm),
            "again": sel.same_incident_again(pm, request.user),
            "has_newer_draft": pm.status != Postmortem.Status.PUBLISHED,
        },
    )


def download(request: HttpRequest, pk: int) -> HttpResponse:
    pm = sel.get_postmortem_for(request.user, pk, published=True)
    version = pm.latest_version
    response = HttpResponse(version.markdown, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="postmortem-{pm.incident_id}-v{version.number}.md"'
    )
    return response


class LibraryFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("slug"), to_field_name="slug", required=False
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), to_field_name="slug", required=False
    )
    severity = forms.ChoiceField(
        choices=[("", "Any"), *list(Incident._meta.get_field("severity").choices)], required=False
    )
    category = forms.ChoiceField(
        label="Cause category", choices=[("", "Any"), *WhyNode.Category.choices], required=False
    )
    year = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", "Any")] + [(y, str(y)) for y in years]
        self.fields["service"].empty_label = "Any"
        self.fields["team"].empty_label = "Any"


LIBRARY_PAGE_SIZE = 20
LIBRARY_COUNT_CAP = 1000  # "1,000+ postmortems": the count stops there (CappedPaginator)


def library(request: HttpRequest) -> HttpResponse:
    form = LibraryFilterForm(request.GET or None, years=sel.library_years(request.user))
    form.is_valid()  # invalid filters are dropped one by one; the valid ones still apply
    data = getattr(form, "cleaned_data", {})
    q = data.get("q") or ""
    qs = sel.library_queryset(
        request.user,
        q=q,
        service=data["service"].slug if data.get("service") else "",
        team=data["team"].slug if data.get("team") else "",
        severity=data.get("severity") or "",
        category=data.get("category") or "",
        year=data.get("year"),
    )
    page = CappedPaginator(
        qs, LIBRARY_PAGE_SIZE, cap=LIBRARY_COUNT_CAP, count_order=("-published_at", "-id")
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "postmortems/documents/library.html",
        {
            "nav": "postmortems",
            "form": form,
            "q": q,
            "page_obj": page,
            "results": sel.library_results(page.object_list, q),
            # The facet groups every result: only when the capped count says they are few.
            "severity_counts": None if page.paginator.capped else sel.severity_counts(qs),
            "filtered": bool(request.GET and any(v for k, v in data.items())),
        },
    )


class PostmortemFeed(Feed):
    """Atom feed of published postmortems; the token stands for its user (no sign-in). The 30
    newest, each with its summary (and lessons) and a link to the full version."""

    feed_type = Atom1Feed
    title = "Published postmortems"
    subtitle = "What the company learned from its incidents."
    description_template = "postmortems/documents/feed_item.html"

    def get_object(self, request, token):
        return user_for_feed_token(token)

    def link(self, user):
        return absolute_url(reverse("postmortems:postmortem-library"))

    def feed_url(self, user):
        return absolute_url(reverse("postmortems:postmortem-feed", args=[user.feed_token.token]))

    def items(self, user):
        return sel.feed_versions(user)

    def item_title(self, item):
        return f"#{item.postmortem.incident_id} {item.title}"

    def get_context_data(self, **kwargs):
        # The entry carries the summary (feed_item.html) and this link to the whole document.
        context = super().get_context_data(**kwargs)
        context["link"] = self.item_link(kwargs["item"])
        return context

    def item_link(self, item):
        return absolute_url(item.postmortem.get_absolute_url())

    def item_guid(self, item):
        return f"postmortem-{item.postmortem.incident_id}-v{item.number}"

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.published_at

    def item_author_name(self, item):
        return display_name(item.published_by, "") or None


postmortem_feed = login_not_required(PostmortemFeed())
