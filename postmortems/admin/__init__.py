"""Admin of the learning layer, one module per feature."""

from django.contrib import admin

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


_no_hard_deletes()
