"""Form pieces shared by every feature's forms."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model


def active_people():
    """Everyone who can be a commander, owner, reviewer or facilitator, in name order."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("first_name", "last_name", "username")
    )


class PersonChoiceField(forms.ModelChoiceField):
    """A person shown as "Full Name (username)"."""

    def label_from_instance(self, obj) -> str:
        return person_label(obj)


NO_JS_HINT = '<span class="picker-nojs">Hold Ctrl or ⌘ to pick several.</span>'


class PickerSelectMultiple(forms.SelectMultiple):
    """A multiple select that static/js/picker.js turns into a searchable picker: type to filter,
    arrows and Enter to pick, chips to remove. Without JavaScript it stays a plain select.

    `create_into` names the id of a text input that receives names typed but not in the list
    (the picker then offers "Add new … “name”"); empty means only listed choices can be picked."""

    def __init__(
        self,
        attrs=None,
        *,
        placeholder: str = "Type to search…",
        create_into: str = "",
        create_label: str = "",
    ):
        base = {"data-picker": "", "data-picker-placeholder": placeholder, "size": 6}
        if create_into:
            base["data-picker-create"] = create_into
            base["data-picker-create-label"] = create_label or "Add “{}”"
        super().__init__({**base, **(attrs or {})})


def person_label(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    """Several people (responders, reviewers) in the searchable picker, named like PersonChoiceField."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", active_people())
        kwargs.setdefault("widget", PickerSelectMultiple(placeholder="Type a name…"))
        kwargs.setdefault("help_text", NO_JS_HINT)
        super().__init__(**kwargs)

    def label_from_instance(self, obj) -> str:
        return person_label(obj)
