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


# JSON input is typed: DRF's fields also take 12 for "12", "1" for true and "" for null, which
# the schema does not allow. The API's input serializers use these strict fields instead, so what
# the schema forbids is refused (400) and what it allows is accepted.
NOT_A_STRING = "Send a string."
NOT_A_BOOLEAN = "Send true or false."
NOT_AN_INTEGER = "Send a whole number."
BLANK_REFERENCE = "Name one, or send null."


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(NOT_A_STRING)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true/false; in a query string (always text), "true"/"false"."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in {"true", "false"}:
            return data.lower() == "true"
        raise serializers.ValidationError(NOT_A_BOOLEAN)


class StrictIntegerField(serializers.IntegerField):
    """A JSON number without a fraction (not a string, not a boolean)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise serializers.ValidationError(NOT_AN_INTEGER)
        if isinstance(data, float) and not data.is_integer():
            raise serializers.ValidationError(NOT_AN_INTEGER)
        return super().to_internal_value(int(data))


class StrictSlugRelatedField(serializers.SlugRelatedField):
    """A reference by slug or username: a non-empty string, or null where allowed (never "")."""

    def run_validation(self, data=serializers.empty):
        if data == "":
            raise serializers.ValidationError(BLANK_REFERENCE)
        if data is not serializers.empty and data is not None and not isinstance(data, str):
            raise serializers.ValidationError(NOT_A_STRING)
        return super().run_validation(data)
