"""Admin of the learning layer, one module per feature."""

from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from . import actions, alerts, core, documents, reviews  # noqa: F401


def _no_hard_deletes() -> None:
    """Nothing is hard-deleted through the UI: no admin (ours, metrics_link's, auth's) may delete.

    This module is imported last by the admin's autodiscovery (postmortems is the last app), so every
    ModelAdmin is registered by now. Records are soft-deleted or closed through the services instead;
    people are deactivated, not deleted.
    """
    admin.site.disable_action("delete_selected")
    for model_admin in admin.site._registry.values():
        model_admin.has_delete_permission = lambda request, obj=None: False  # type: ignore[method-assign]


def _no_visible_api_tokens() -> None:
    """DRF's authtoken admin lists every key in clear: replace it with one that shows only whose
    token it is and when it was made (the key never appears, superusers included)."""

    class KeylessTokenAdmin(core.ReadOnlyMixin, core.NoDeleteMixin, TokenAdmin):
        # DRF's admin links rows by user id (never by key); we also drop the key column.
        list_display = ("user", "created")
        fields = ("user", "created")
        readonly_fields = ("user", "created")

    # A token's str() is its key (page titles, breadcrumbs, history): name its owner instead.
    # TokenProxy exists only for this admin, so DRF's own Token keeps its behaviour.
    TokenProxy.__str__ = lambda self: f"API token of {self.user}"  # type: ignore[method-assign]

    if admin.site.is_registered(TokenProxy):
        admin.site.unregister(TokenProxy)
    admin.site.register(TokenProxy, KeylessTokenAdmin)


_no_visible_api_tokens()
_no_hard_deletes()
