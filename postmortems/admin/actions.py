"""Admin for reminder records: see what was recorded and sent; re-enqueue unsent ones."""

from __future__ import annotations

from django.contrib import admin

from metrics_link.queue import enqueue_on_commit

from ..models import ReminderSent
from ..tasks.actions import send_reminder_task
from .core import VisibleItemsMixin


@admin.register(ReminderSent)
class ReminderSentAdmin(VisibleItemsMixin, admin.ModelAdmin):
    item_lookup = "action_item"

    list_display = [
        "action_item",
        "kind",
        "period",
        "recipient",
        "created_at",
        "sent_at",
        "attempts",
    ]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["action_item__title", "recipient__username"]
    raw_id_fields = ["action_item", "recipient"]
    readonly_fields = [
        "action_item",
        "kind",
        "period",
        "recipient",
        "created_at",
        "sent_at",
        "attempts",
    ]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False  # rows are recorded by the scan only

    @admin.action(description="Enqueue sending of the selected unsent reminders")
    def send_again(self, request, queryset):
        ids = list(queryset.filter(sent_at__isnull=True).values_list("pk", flat=True))
        for pk in ids:
            enqueue_on_commit(send_reminder_task, pk)
        self.message_user(request, f"{len(ids)} reminder(s) enqueued.")
