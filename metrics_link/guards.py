"""Request guards: input no part of the product can store or parse is refused at the door (400).

- NUL characters (`%00`, `\\u0000`): PostgreSQL text cannot hold them, so a NUL in a path, a query
  parameter, a form field or a JSON string would otherwise reach a query and answer 500.
- JSON nested so deeply that the parser runs out of stack (100,000 `[`): RecursionError, a 500.

Three doors, one set of messages:
- `RequestGuardMiddleware` checks every request's path and query string, and the form bodies of
  pages. It leaves webhook bodies alone: they must reach their view as raw bytes, unread, so the
  signature is verified on exactly what was sent (and a 25 MB payload is not loaded twice).
- `GuardedJSONParser` (DRF's default JSON parser here) refuses NUL strings and deep nesting in API
  bodies.
- Webhook views call `loads_checked` after the signature check: an unsigned request still gets
  401/403 first, a signed one with NUL or deep nesting gets 400 and nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL = "\x00"
NUL_REFUSED = "NUL characters (%00, \\u0000) are not accepted in {where}."
TOO_DEEP = "The JSON body is nested too deeply to be read."
# Bodies of these paths are read raw by their views (signatures are checked on the exact bytes).
RAW_BODY_PREFIXES = ("/hooks/",)
JSON_PREFIXES = ("/api/", "/hooks/")


class BadInput(ValueError):
    """Input refused before any work is done; the message is shown to the sender."""


def contains_nul(value: Any) -> bool:
    """True when any string (key or value) anywhere in a decoded JSON value holds a NUL.

    A loop with a stack, not recursion: the value may be nested as deep as the parser allowed.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def loads_checked(data: bytes | str, **kwargs: Any) -> Any:
    """`json.loads` that raises BadInput for deep nesting and NUL strings (ValueError as usual
    for malformed JSON)."""
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise BadInput(TOO_DEEP) from None
    marker = b"\\u0000" if isinstance(data, bytes | bytearray) else "\\u0000"
    if marker in data and contains_nul(value):  # cheap test first: most bodies have none
        raise BadInput(NUL_REFUSED.format(where="JSON strings"))
    return value


class GuardedJSONParser(JSONParser):
    """DRF's JSON parser, refusing deep nesting and NUL strings with a 400 ParseError."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            value = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if contains_nul(value):
            raise ParseError(NUL_REFUSED.format(where="JSON strings"))
        return value


def _refuse(request: HttpRequest, message: str) -> HttpResponse:
    if request.path_info.startswith(JSON_PREFIXES):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _querydict_has_nul(data) -> bool:
    return any(NUL in key or any(NUL in v for v in values) for key, values in data.lists())


class RequestGuardMiddleware:
    """400 for a NUL in the path, the query string or a page's form body (see the module doc)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path_info:
            return _refuse(request, NUL_REFUSED.format(where="addresses"))
        if _querydict_has_nul(request.GET):
            return _refuse(request, NUL_REFUSED.format(where="query parameters"))
        if (
            request.method in ("POST", "PUT", "PATCH")
            and not request.path_info.startswith(RAW_BODY_PREFIXES)
            and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
            and _querydict_has_nul(request.POST)
        ):
            return _refuse(request, NUL_REFUSED.format(where="form fields"))
        return self.get_response(request)
