"""Admin of the reviews feature. Weekly reviews are rebuilt with the command or the admin action
(which calls the service), never edited by hand: the snapshot is what readers saw."""

from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from ..models import Experiment, Recurrence, RetroItem, Retrospective, WeeklyReview
from ..services import reviews as svc
from .core import NoDeleteMixin, ReadOnlyMixin, VisibleOnlyMixin


class RetroItemInline(admin.TabularInline):
    model = RetroItem
    extra = 0
    fields = ["column", "text", "author", "is_deleted"]
    raw_id_fields = ["author"]


@admin.register(Retrospective)
class RetrospectiveAdmin(ReadOnlyMixin, NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ["name", "team", "sprint_start", "sprint_end", "published", "is_deleted"]
    list_filter = ["team", "published", "is_deleted"]
    search_fields = ["name", "summary"]
    raw_id_fields = ["facilitator", "created_by"]
    inlines = [RetroItemInline]


@admin.register(WeeklyReview)
class WeeklyReviewAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["iso_week", "week_start", "generated_at", "published", "mailed_at"]
    readonly_fields = [
        "iso_week",
        "week_start",
        "generated_at",
        "snapshot",
        "published",
        "published_at",
        "mailed_at",
    ]
    actions = ["rebuild"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Rebuild the snapshot of the selected weeks")
    def rebuild(self, request, queryset):
        for review in queryset:
            svc.build_weekly_review(week=review.iso_week, rebuild=True, publish=False)
        messages.success(request, f"Rebuilt {queryset.count()} review(s).")


@admin.register(Experiment)
class ExperimentAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "owner",
        "control_trials",
        "control_conversions",
        "experiment_trials",
        "experiment_conversions",
        "split",
        "started_on",
        "ended_on",
    ]
    search_fields = ["name", "hypothesis"]
    raw_id_fields = ["owner"]


@admin.register(Recurrence)
class RecurrenceAdmin(VisibleOnlyMixin, ReadOnlyMixin, NoDeleteMixin, SimpleHistoryAdmin):
    incident_lookups = ("incident", "earlier")

    list_display = ["incident", "earlier", "service", "category", "status", "decided_by"]
    list_filter = ["status", "category"]
    raw_id_fields = ["incident", "earlier", "decided_by"]
