"""Admin of the alerts feature: which alerts belong to which incident."""

from django.contrib import admin

from ..models import IncidentAlert
from .core import ReadOnlyMixin, VisibleOnlyMixin


@admin.register(IncidentAlert)
class IncidentAlertAdmin(VisibleOnlyMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["incident", "alert", "opened", "linked_at"]
    list_filter = ["opened"]
    raw_id_fields = ["incident", "alert"]
    search_fields = ["alert__name", "incident__title"]
