"""One error shape for the whole API: DRF's, plus rule violations from services as 400.

Bodies look like {"field": ["message"], ...} or {"detail": "message"}; never a 500 for bad input.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..permissions import NotAllowed


def exception_handler(exc, context):
    if isinstance(exc, NotAllowed):
        # A rule of who may change what said no: 403 with the reason (the reader could see the
        # object; an invisible one is a 404 from the accessor before any rule is asked).
        return Response({"detail": exc.reason}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            data = {
                ("non_field_errors" if k == "__all__" else k): v
                for k, v in exc.message_dict.items()
            }
        else:
            data = {"detail": " ".join(exc.messages)}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    return drf_exception_handler(exc, context)
