"""A capped-count page-number pagination for the incidents list (issue 15: 100k incidents).

Local stand-in for `metrics_link.api.pagination.CappedCountPagination`, which another helper adds
(same name, same behaviour as `GET /api/deploys/`'s): when that is on main, import it from there and
delete this module.
"""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import InvalidPage, Paginator
from rest_framework import exceptions

from metrics_link.api.pagination import PAST_THE_END, CursorOrPagePagination

COUNT_CAP = 10_000
BEYOND_THE_CAP = (
    "Page {page} is beyond the first {cap:,} {noun} that page numbers reach; "
    "walk deeper with a cursor (?cursor=, then follow next)."
)


class CappedCountPaginator(Paginator):
    """Counts the ordered list up to `cap` + 1 rows (stops there), never every visible row;
    `capped` when there are more. Pages stop at the cap."""

    cap = COUNT_CAP

    @cached_property
    def _seen(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self._seen > self.cap

    @cached_property
    def count(self) -> int:
        return min(self._seen, self.cap)


class CappedCountPagination(CursorOrPagePagination):
    """Page numbers with a capped count (`count_capped`), or the cursor as every deep list.

    Subclass with `noun` (plural, for the messages and the schema) and `cursor_ordering`."""

    noun = "items"
    django_paginator_class = CappedCountPaginator

    def paginate_queryset(self, queryset, request, view=None):
        if self.cursor_query_param in request.query_params:
            return super().paginate_queryset(queryset, request, view)
        self.mode = "page"
        number = self.page_number_from(request)
        paginator = self.django_paginator_class(queryset, self.page_size)
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            if paginator.capped:
                message = BEYOND_THE_CAP.format(page=number, cap=paginator.cap, noun=self.noun)
            else:
                pages = paginator.num_pages
                message = PAST_THE_END.format(page=number, pages=pages, s="" if pages == 1 else "s")
            raise exceptions.NotFound(message) from None
        self.request = request
        return list(self.page)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if getattr(self, "mode", "page") == "page" and self.page.paginator.capped:
            response.data["count_capped"] = True
        return response

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"]["description"] = (
            f"Exact number of {self.noun} you may see, up to {COUNT_CAP:,} (then `count_capped` "
            "is true and page numbers stop there: walk deeper with `cursor`). "
            "Page-number mode only: absent with `cursor`."
        )
        described["properties"]["count_capped"] = {
            "type": "boolean",
            "description": (
                f"Present (true) only when there are more than {COUNT_CAP:,} {self.noun} "
                "(page-number mode)."
            ),
        }
        return described


class IncidentPagination(CappedCountPagination):
    noun = "incidents"
    cursor_ordering = "-id"
