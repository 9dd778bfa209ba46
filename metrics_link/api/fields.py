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


NOT_A_NUMBER = "Send a number."
NOT_A_LIST = "Send a list."


def _wants_text(field) -> bool:
    return isinstance(
        field, serializers.CharField | serializers.ChoiceField | serializers.SlugRelatedField
    )


def _wants_number(field) -> bool:
    return isinstance(
        field, serializers.IntegerField | serializers.FloatField | serializers.DecimalField
    )


def _type_error(field, value) -> str | None:
    if value is None:
        return None  # the field's own allow_null decides
    if _wants_text(field) and not isinstance(value, str):
        return NOT_A_STRING
    if _wants_number(field) and (isinstance(value, bool) or not isinstance(value, int | float)):
        return NOT_A_NUMBER
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return NOT_A_BOOLEAN
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        if not isinstance(value, list):
            return NOT_A_LIST
        child = field.child
        if any(_type_error(child, item) for item in value if not isinstance(child, TypedInput)):
            return (
                f"Every item: {_type_error(child, next(v for v in value if _type_error(child, v)))}"
            )
    return None


class TypedInput:
    """Mixin for the API's input serializers: a JSON body is typed the way the schema says.

    DRF would take 12 for "12", "1.5" for 1.5 and "yes" for true; these are refused (400) before
    the fields run, so what the schema forbids is refused and what it allows is accepted.
    Query-string filters are text by nature and do not use it."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():
                if field.read_only or name not in data:
                    continue
                problem = _type_error(field, data[name])
                if problem:
                    errors[name] = [problem]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class OptionalURLField(serializers.URLField):
    """A URL, or "" for none (metrics_link/api/schema.py documents it as one pattern)."""
