"""Paginators for pages over big lists: exact counts, capped (issue 15)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property

COUNT_CAP = 1000


class CappedPaginator(Paginator):
    """A `Paginator` that counts exactly, but at most `cap` rows (or up to the requested page when
    it lies further): the count query stops there (`COUNT(*) FROM (… LIMIT cap + 1)`) instead of
    counting every row the reader may see. `capped` says there are more; the page then shows
    "1,000+" (`count_label`) and there is always one page past the counted ones, so "Next" keeps
    working. Counts stay exact for what the reader may see: never a planner estimate."""

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        cap: int = COUNT_CAP,
        count_order: tuple[str, ...] = (),
        **kwargs: Any,
    ):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap
        self.reach = cap
        # An order an index serves (e.g. newest first), so the count walks it and stops at the
        # cap; () lets the database choose (a ranked order would make it rank every row first).
        self.count_order = count_order

    def get_page(self, number: Any) -> Page:
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            wanted = 1
        self.reach = max(self.cap, wanted * self.per_page)
        return super().get_page(number)

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if hasattr(object_list, "order_by"):
            rows = object_list.order_by(*self.count_order).values("pk")
            return int(rows[: self.reach + 1].count())
        return len(object_list[: self.reach + 1])

    @property
    def capped(self) -> bool:
        return self.count > self.reach

    @property
    def count_label(self) -> str:
        """The count as shown: "1,000+" when capped, else the exact number."""
        return f"{self.reach:,}+" if self.capped else f"{self.count:,}"
