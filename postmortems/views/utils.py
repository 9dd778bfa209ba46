"""Small helpers shared by the HTML views."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's rule violations on the form: per field when it names one, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        for message in error.messages:
            form.add_error(None, message)


def error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for msgs in error.message_dict.values() for m in msgs)
    return " ".join(error.messages)
