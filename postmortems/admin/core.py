from django.contrib import admin
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


class NoDeleteMixin:
    """Nothing is hard-deleted through the UI: incidents and their records are soft-deleted."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["id", "title", "severity", "status", "visibility", "started_at", "is_deleted"]
    list_filter = ["status", "severity", "visibility", "is_deleted"]
    search_fields = ["title", "summary", "impact"]
    filter_horizontal = ["services", "responders"]
    date_hierarchy = "started_at"


@admin.register(TimelineEntry)
class TimelineEntryAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["incident", "at", "kind", "source", "starred"]
    list_filter = ["kind", "source", "starred"]
    raw_id_fields = ["incident", "deploy", "alert"]


@admin.register(SuspectVerdict)
class SuspectVerdictAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["incident", "deploy", "verdict", "by", "at"]
    raw_id_fields = ["incident", "deploy"]


@admin.register(WhyNode)
class WhyNodeAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["incident", "level", "answer", "category", "version", "is_deleted"]
    raw_id_fields = ["incident", "parent"]


@admin.register(ActionItem)
class ActionItemAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["title", "owner", "team", "status", "priority", "type", "due_on"]
    list_filter = ["status", "priority", "type", "team"]
    search_fields = ["title", "description"]
    raw_id_fields = ["incident", "why_node"]


admin.site.register(FeedToken)
admin.site.register(Profile)
admin.site.site_header = "Postmortems administration"
