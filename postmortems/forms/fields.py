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
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()
