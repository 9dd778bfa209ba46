"""Pagination of every API list: page numbers by default, a cursor on request.

- **Page numbers** (`?page=N`, 50 a page): `{count, next, previous, results}`. `count` is exact and
  counts only what the reader may see (the list's own queryset, never a planner estimate).
  A malformed page (`page=0`, `page=abc`, `page=`) is **400** `{"page": ["..."]}`; a page past the
  end is **404** `{"detail": "..."}`. Page 1 of an empty list is an empty page, not a 404.
- **Cursor** (`?cursor=` — empty to start — then follow `next`): on the lists where a machine
  client may walk deep (deploys, incidents, action items, timeline). Ordered on the primary key
  (unique, indexed), so a page costs the same at any depth and rows added meanwhile are neither
  skipped nor repeated. `{next, previous, results}`, no `count`. A cursor that was not made
  here is **404** `{"detail": "..."}`, like a page past the end.
- **Capped count** (`CappedCountPagination`, lists that grow without bound: deploys, action
  items): page numbers count at most `COUNT_CAP` rows (`COUNT(*)` over `LIMIT cap + 1`, an index
  scan that stops there), exact below it; `count_capped: true` when it stopped there, and pages
  beyond the cap are **404** pointing to the cursor.
"""

from __future__ import annotations

from django.core.paginator import InvalidPage, Paginator
from django.utils.functional import cached_property
from rest_framework import exceptions, pagination
from rest_framework.response import Response

PAGE_SIZE = 50
MALFORMED_PAGE = "A page is a whole number from 1 (got {value!r})."
PAST_THE_END = "Page {page} is past the end of this list ({pages} page{s})."
BAD_CURSOR = "No page at this cursor (it was not made here); start again with an empty cursor."


class PagePagination(pagination.PageNumberPagination):
    """Page numbers; the one page-number behaviour every list shares."""

    page_size = PAGE_SIZE

    def page_number_from(self, request) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        text = raw.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < 1:
            raise exceptions.ValidationError(
                {self.page_query_param: [MALFORMED_PAGE.format(value=raw)]}
            )
        return int(text)

    def paginate_queryset(self, queryset, request, view=None):
        number = self.page_number_from(request)
        paginator = self.django_paginator_class(queryset, self.page_size)
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            pages = paginator.num_pages
            raise exceptions.NotFound(
                PAST_THE_END.format(page=number, pages=pages, s="" if pages == 1 else "s")
            ) from None
        self.request = request
        return list(self.page)

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"]["description"] = (
            "Exact number of items you may see in this list (all pages)."
        )
        return described

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1. Malformed: 400; past the end: 404.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
            }
        ]


class _Cursor(pagination.CursorPagination):
    page_size = PAGE_SIZE

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.NotFound(BAD_CURSOR) from None


class CursorOrPagePagination(PagePagination):
    """Page numbers, or a cursor on the primary key when the request names `cursor`.

    Subclass with `cursor_ordering` ("-id" newest first, "id" oldest first)."""

    cursor_ordering = "-id"
    cursor_query_param = "cursor"

    def _cursor(self):
        cursor = _Cursor()
        cursor.ordering = self.cursor_ordering
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        self.mode = "cursor" if self.cursor_query_param in request.query_params else "page"
        if self.mode == "cursor":
            self.cursor = self._cursor()
            return self.cursor.paginate_queryset(queryset.order_by(), request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if getattr(self, "mode", "page") == "cursor":
            return Response(
                {
                    "next": self.cursor.get_next_link(),
                    "previous": self.cursor.get_previous_link(),
                    "results": data,
                }
            )
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        described["required"] = ["next", "previous", "results"]
        described["properties"]["count"]["description"] = (
            "Exact number of items you may see in this list (all pages). "
            "Page-number mode only: absent with `cursor`."
        )
        return described

    def get_schema_operation_parameters(self, view):
        order = "newest first" if self.cursor_ordering.startswith("-") else "oldest first"
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "Cursor pagination: send it empty to start, then follow `next`. Orders by id "
                    f"({order}), ignores `page` and any sort, and has no `count`; a page costs "
                    "the same at any depth. A cursor not made here: 404."
                ),
                "schema": {"type": "string"},
            },
        ]


class NewestFirstCursorPagination(CursorOrPagePagination):
    cursor_ordering = "-id"


class OldestFirstCursorPagination(CursorOrPagePagination):
    cursor_ordering = "id"


# Page numbers count at most this many rows (issue 15: a company has a million deploys and half a
# million action items): exact below it, `count_capped: true` when it stopped there; deeper, a cursor.
COUNT_CAP = 10_000
BEYOND_THE_CAP = (
    "Page {page} is beyond the first {cap:,} {noun} that page numbers reach; "
    "walk deeper with a cursor (?cursor=, then follow next)."
)


class CappedCountPaginator(Paginator):
    """Counts the ordered list up to `cap` + 1 rows (an index scan that stops there), never the
    whole table; `capped` when there are more. Pages stop at the cap.

    The count reads primary keys only (no annotation), in the list's order or `count_ordering`
    (an order an index serves, so the scan stops at the cap whatever sort the page uses)."""

    cap = COUNT_CAP

    def __init__(self, object_list, per_page, *, cap=None, count_ordering=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        if cap is not None:
            self.cap = cap
        self.count_ordering = count_ordering

    @cached_property
    def _seen(self) -> int:
        rows = self.object_list.values("pk")
        if self.count_ordering:
            rows = rows.order_by(*self.count_ordering)
        return rows[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self._seen > self.cap

    @cached_property
    def count(self) -> int:
        return min(self._seen, self.cap)


class CappedCountPagination(CursorOrPagePagination):
    """Page numbers with a capped count (`count_capped`), or the cursor as every deep list.

    Subclass with `noun` (plural, for the messages and the schema) and `cursor_ordering`;
    `count_cap` (default COUNT_CAP) and `count_ordering` as CappedCountPaginator takes them."""

    noun = "items"
    django_paginator_class = CappedCountPaginator
    count_cap: int | None = None
    count_ordering: tuple | None = None

    def paginate_queryset(self, queryset, request, view=None):
        if self.cursor_query_param in request.query_params:
            return super().paginate_queryset(queryset, request, view)
        self.mode = "page"
        number = self.page_number_from(request)
        paginator = self.django_paginator_class(
            queryset, self.page_size, cap=self.count_cap, count_ordering=self.count_ordering
        )
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
        cap = self.count_cap or COUNT_CAP
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"]["description"] = (
            f"Exact number of {self.noun} you may see, up to {cap:,} (then `count_capped` "
            "is true and page numbers stop there: walk deeper with `cursor`). "
            "Page-number mode only: absent with `cursor`."
        )
        described["properties"]["count_capped"] = {
            "type": "boolean",
            "description": (
                f"Present (true) only when there are more than {cap:,} {self.noun} "
                "(page-number mode)."
            ),
        }
        return described
