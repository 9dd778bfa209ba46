import json

from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from . import permissions
from .models import (
    Alert,
    Commit,
    Deploy,
    DeployWatch,
    MetricSeries,
    OutboxMessage,
    Service,
    Team,
    WebhookDelivery,
)
from .selectors import alerts_of_delivery
from .services.catalog import SERVICE_FIELDS, update_service
from .services.outbox import retry_messages
from .services.webhooks import reprocess_deliveries


class ReadOnlyMixin:
    """Deploys, commits and alerts arrive through webhooks, the API and the CLI (services); the
    admin shows them and does not edit them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "manager"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]
    search_fields = ["name", "slug"]


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    """Edits go through the catalog service, so the admin follows the same write rules
    (metrics_link.permissions): staff outside the owning team see the service read-only."""

    list_display = ["slug", "name", "team", "claimed"]
    list_filter = ["claimed", "team"]
    search_fields = ["slug", "name"]

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or permissions.can_edit_service(request.user, obj))

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in form.changed_data if f in SERVICE_FIELDS}
        if change:
            update_service(service=obj, by=request.user, **values)
            obj.refresh_from_db()
        else:
            super().save_model(request, obj, form, change)


class DeployCommitInline(admin.TabularInline):
    model = Deploy.commits.through
    extra = 0
    raw_id_fields = ["commit"]


@admin.register(Deploy)
class DeployAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["service", "environment", "version", "status", "finished_at", "provider"]
    list_filter = ["environment", "status", "provider"]
    search_fields = ["service__slug", "version", "sha", "external_id"]
    date_hierarchy = "finished_at"
    inlines = [DeployCommitInline]
    raw_id_fields = ["service"]


@admin.register(Commit)
class CommitAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["repository", "sha", "author", "committed_at"]
    search_fields = ["repository", "sha", "author", "message"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["provider", "event", "key", "status", "attempts", "received_at"]
    list_filter = ["provider", "status", "event"]
    search_fields = ["key", "error"]
    readonly_fields = [
        "provider",
        "key",
        "event",
        "headers",
        "body_text",
        "received_at",
        "processed_at",
        "attempts",
        "error",
        "status",
        "alerts_outcome",
    ]
    exclude = ["body"]
    actions = ["reprocess"]

    @admin.display(description="Body")
    def body_text(self, obj: WebhookDelivery) -> str:
        return bytes(obj.body).decode("utf-8", "replace")[:20000]

    @admin.display(description="Alerts")
    def alerts_outcome(self, obj: WebhookDelivery) -> str:
        """Each alert of the delivery and, when it opened no incident, why: "Processed" alone
        does not say that a `severity: P9` alert was stored as a warning and paged nobody."""
        lines = [
            f"{alert.name} ({alert.service.slug}, {alert.severity}, {alert.status})"
            + (f": {alert.explanation}" if alert.explanation else "")
            for alert in alerts_of_delivery(obj)
        ]
        return "\n".join(lines) or "-"

    @admin.action(description="Reprocess the selected deliveries")
    def reprocess(self, request, queryset):
        count = reprocess_deliveries(deliveries=queryset)
        self.message_user(
            request, f"Reprocessed {count} deliver{'y' if count == 1 else 'ies'}.", messages.SUCCESS
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "service", "source", "severity", "status", "starts_at", "explanation"]
    list_filter = ["source", "severity", "status"]
    search_fields = ["name", "service__slug", "dedupe_key"]


@admin.register(MetricSeries)
class MetricSeriesAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "label",
        "kind",
        "unit",
        "service",
        "watched",
        "bad_direction",
        "critical",
    ]
    list_filter = ["kind", "watched", "critical"]

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or permissions.can_edit_metric_series(request.user, obj))


@admin.register(DeployWatch)
class DeployWatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The immune system's verdicts: decided by the judge, shown here, never edited."""

    list_display = ["deploy", "status", "score", "due_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["deploy__service"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """What left (or failed to leave) the product. Read-only; "Retry" queues failed ones again."""

    list_display = [
        "created_at",
        "channel",
        "summary",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "error",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["dedupe_key", "last_error"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "channel",
        "dedupe_key",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "last_error",
        "payload_text",
    ]
    exclude = ["payload"]
    actions = ["retry"]

    @admin.display(description="Message")
    def summary(self, obj: OutboxMessage) -> str:
        p = obj.payload or {}
        if obj.channel == OutboxMessage.Channel.MAIL:
            return f"{p.get('subject', '')} → {', '.join(p.get('to', []) or p.get('bcc', []))}"[
                :120
            ]
        if obj.channel == OutboxMessage.Channel.SLACK:
            return str(p.get("text", ""))[:120]
        return str(p.get("url", ""))[:120]

    @admin.display(description="Error")
    def error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:200]

    @admin.display(description="Payload")
    def payload_text(self, obj: OutboxMessage) -> str:
        # Outgoing hooks carry their signature in the headers: never show header values.
        p = dict(obj.payload or {})
        if isinstance(p.get("headers"), dict):
            p["headers"] = dict.fromkeys(p["headers"], "…")
        return json.dumps(p, indent=2, ensure_ascii=False)[:20000]

    @admin.action(description="Retry the selected messages (failed or pending)")
    def retry(self, request, queryset):
        count = retry_messages(messages=queryset)
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
