"""Serializer fields shared by both apps' APIs."""

from __future__ import annotations

from rest_framework import serializers

from ..times import OUT_OF_RANGE, is_sane


class SaneDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time between 1970-01-01 and one day from now; anything else is a 400.

    `0001-01-01T00:00:00Z` (a zero value) parses, but stored it breaks every time window.
    """

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not is_sane(parsed):
            raise serializers.ValidationError(OUT_OF_RANGE.format(value=value))
        return parsed
