from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from ..models import (
    ActionItem,
    FeedToken,
    Incident,
    Profile,
    SuspectVerdict,
    TimelineEntry,
    WhyNode,
)
from ..selectors.actions import visible_action_items
from ..selectors.whys import visible_why_nodes


class NoDeleteMixin:
    """Nothing is hard-deleted through the UI: incidents and their records are soft-deleted."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyMixin:
    """Domain records change only through the product's pages and API, which call the services
    (validation, timeline entries, history). The admin shows them; it does not edit them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class _VisibleHistoryMixin:
    """simple-history's history pages fall back to the historical rows when the object is not in
    `get_queryset`: answer 404 first, the same as a missing object."""

    def _require_visible(self, request, object_id) -> None:
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404("No such object.")

    def history_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_form_view(
            request, object_id, version_id, extra_context=extra_context
        )


class VisibleOnlyMixin(_VisibleHistoryMixin):
    """The admin is a page too: staff who are not superusers see only rows hanging off incidents
    they may see (ARCHITECTURE, "Visibility"), through the one rule. `incident_lookups` name the
    incident(s) a row hangs off; rows with none stay visible."""

    incident_lookups: tuple[str, ...] = ("incident",)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        visible = Incident.objects.visible_to(request.user).values("pk")
        for lookup in self.incident_lookups:
            if lookup == "pk":
                qs = qs.filter(pk__in=visible)
            else:
                qs = qs.filter(Q(**{f"{lookup}__isnull": True}) | Q(**{f"{lookup}__in": visible}))
        return qs


class VisibleItemsMixin(_VisibleHistoryMixin):
    """Action items (and rows hanging off them) through the items' accessor."""

    item_lookup = "pk"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(
            **{f"{self.item_lookup}__in": visible_action_items(request.user).values("pk")}
        )


@admin.register(Incident)
class IncidentAdmin(VisibleOnlyMixin, ReadOnlyMixin, NoDeleteMixin, SimpleHistoryAdmin):
    incident_lookups = ("pk",)
    list_display = ["id", "title", "severity", "status", "visibility", "started_at", "is_deleted"]
    list_filter = ["status", "severity", "visibility", "is_deleted"]
    search_fields = ["title", "summary", "impact"]
    filter_horizontal = ["services", "responders"]
    date_hierarchy = "started_at"


@admin.register(TimelineEntry)
class TimelineEntryAdmin(VisibleOnlyMixin, ReadOnlyMixin, NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["incident", "at", "kind", "source", "starred"]
    list_filter = ["kind", "source", "starred"]
    raw_id_fields = ["incident", "deploy", "alert"]


@admin.register(SuspectVerdict)
class SuspectVerdictAdmin(VisibleOnlyMixin, ReadOnlyMixin, NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["incident", "deploy", "verdict", "by", "at"]
    raw_id_fields = ["incident", "deploy"]


@admin.register(WhyNode)
class WhyNodeAdmin(_VisibleHistoryMixin, ReadOnlyMixin, NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["incident", "level", "answer", "category", "version", "is_deleted"]
    raw_id_fields = ["incident", "parent"]

    def get_queryset(self, request):
        # The why-node accessor's rule (selectors/whys.py); deleted causes are listed here too.
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk__in=visible_why_nodes(request.user).values("pk"))


@admin.register(ActionItem)
class ActionItemAdmin(VisibleItemsMixin, ReadOnlyMixin, NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["title", "owner", "team", "status", "priority", "type", "due_on"]
    list_filter = ["status", "priority", "type", "team"]
    search_fields = ["title", "description"]
    raw_id_fields = ["incident", "why_node"]

    def get_exclude(self, request, obj=None):
        # Owners and managers may see an item of a restricted incident, never the incident itself.
        if request.user.is_superuser:
            return list(super().get_exclude(request, obj) or [])
        return ["incident", "why_node"]

    def get_fields(self, request, obj=None):
        fields = [
            f for f in super().get_fields(request, obj) if f not in self.get_exclude(request, obj)
        ]
        return fields if request.user.is_superuser else [*fields, "incident_ref"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else [*readonly, "incident_ref"]

    def get_queryset(self, request):
        visible = Incident.objects.visible_to(request.user).filter(pk=OuterRef("incident_id"))
        return super().get_queryset(request).annotate(incident_is_visible=Exists(visible))

    @admin.display(description="Incident")
    def incident_ref(self, obj: ActionItem) -> str:
        if obj.incident_id is None:
            return "—"
        if getattr(obj, "incident_is_visible", False):
            return str(obj.incident)
        return f"#{obj.incident_id} (restricted)"


class SecretFreeAdmin(ReadOnlyMixin, NoDeleteMixin, admin.ModelAdmin):
    """Secrets (feed tokens, API tokens) are never shown in the admin, to anyone (ARCHITECTURE):
    only whose they are and when they were made. People reset their own on /me/."""

    fields = ["user", "created"]
    readonly_fields = ["user", "created"]
    list_display = ["user", "created"]
    search_fields = ["user__username"]

    @admin.display(description="Created")
    def created(self, obj) -> str:
        return str(getattr(obj, "created_at", None) or getattr(obj, "created", "") or "")


admin.site.register(FeedToken, SecretFreeAdmin)
admin.site.register(Profile)
admin.site.site_header = "Postmortems administration"
