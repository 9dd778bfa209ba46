"""Admin of the documents feature: admins edit the default template's help texts; documents are
read-only here (every change goes through the review workflow's services)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from ..models.documents import Postmortem, PostmortemEvent, PostmortemTemplate, PostmortemVersion
from .core import VisibleOnlyMixin


@admin.register(PostmortemTemplate)
class PostmortemTemplateAdmin(SimpleHistoryAdmin):
    list_display = ["name", "is_default", "updated_at"]


class EventInline(admin.TabularInline):
    model = PostmortemEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "round", "by", "at", "comment"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Postmortem)
class PostmortemAdmin(VisibleOnlyMixin, SimpleHistoryAdmin):
    list_display = ["incident", "title", "status", "round", "updated_at"]
    list_filter = ["status"]
    search_fields = ["title"]
    readonly_fields = [
        "incident",
        "title",
        "status",
        "sections",
        "edited_sections",
        "round",
        "submitted_at",
        "submitted_by",
        "blameless_override_reason",
        "latest_version",
        "created_by",
    ]
    inlines = [EventInline]

    def has_add_permission(self, request):
        return False


@admin.register(PostmortemVersion)
class PostmortemVersionAdmin(VisibleOnlyMixin, admin.ModelAdmin):
    incident_lookups = ("postmortem__incident",)

    list_display = ["title", "number", "published_at", "published_by"]
    readonly_fields = [f.name for f in PostmortemVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
