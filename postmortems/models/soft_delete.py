"""Soft delete in one place: nothing is hard-deleted through the UI or API (ARCHITECTURE), so every
model with `is_deleted` reads its live rows through `alive()` — on the manager, on a queryset and on
a related manager alike (`incident.why_nodes.alive()`)."""

from __future__ import annotations

from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


class SoftDeleteQuerySet(models.QuerySet[M]):
    def alive(self) -> SoftDeleteQuerySet[M]:
        """The rows nobody has deleted."""
        return self.filter(is_deleted=False)

    def deleted(self) -> SoftDeleteQuerySet[M]:
        """The rows someone deleted (kept, with their history)."""
        return self.filter(is_deleted=True)
