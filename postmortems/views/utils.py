"""Small helpers shared by the HTML views.

`run_service` is THE way a page turns a service's answer into what the person sees: a rule
violation (`ValidationError`/`ServiceError`) goes on the form when the page has one, else into a
message, and nothing is committed; a refused write (`NotAllowed`) is left to Django's 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

T = TypeVar("T")


def run_service(
    request: HttpRequest,
    call: Callable[[], T],
    *,
    form: forms.Form | None = None,
    success: str = "",
) -> tuple[T | None, bool]:
    """Run one service call for a page: `(result, True)` when it went through (with `success`
    shown as a message), `(None, False)` with the errors shown when a rule said no."""
    try:
        result = call()
    except ValidationError as exc:
        if form is not None:
            apply_service_errors(form, exc)
        else:
            messages.error(request, error_text(exc))
        return None, False
    if success:
        messages.success(request, success)
    return result, True


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's rule violations on the form: per field when it names one, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        for message in error.messages:
            form.add_error(None, message)


def error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for msgs in error.message_dict.values() for m in msgs)
    return " ".join(error.messages)
