"""Forms of the action-items pages. They validate shapes; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404

from metrics_link.models import Team

from ..models import ActionItem, Incident
from ..selectors.incidents import get_incident_for
from .fields import PersonChoiceField, active_people

NO_SUCH_INCIDENT = "There is no incident with this number you can see."


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


SCOPES = [("mine", "Mine"), ("teams", "My teams"), ("all", "Everyone's")]
STATUS_FILTERS = [
    ("open", "Open (not closed)"),
    ("closed", "Closed"),
    ("any", "Any status"),
    *ActionItem.Status.choices,
]
SORT_CHOICES = [
    ("due", "Due soonest"),
    ("-due", "Due latest"),
    ("priority", "Priority"),
    ("-created", "Newest"),
    ("created", "Oldest"),
    ("owner", "Owner"),
    ("status", "Status"),
]


class ActionFilterForm(forms.Form):
    scope = forms.ChoiceField(choices=SCOPES, required=False, widget=forms.HiddenInput)
    q = forms.CharField(required=False, max_length=200, label="Search")
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Any team",
    )
    owner = PersonChoiceField(
        queryset=active_people(), to_field_name="username", required=False, empty_label="Anyone"
    )
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    type = forms.ChoiceField(choices=[("", "Any type"), *ActionItem.Type.choices], required=False)
    incident = forms.IntegerField(required=False, min_value=1, label="Incident #")
    overdue = forms.BooleanField(required=False, label="Overdue only")
    due_from = forms.DateField(required=False, widget=DateInput, label="Due from")
    due_to = forms.DateField(required=False, widget=DateInput, label="Due to")
    bucket = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)


class ActionItemForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Add a connection pool limit alert"}),
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Markdown."
    )
    owner = PersonChoiceField(queryset=active_people(), required=False, empty_label="No one yet")
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="The incident's or the owner's team",
        help_text="Its manager follows the item up. Defaults to the incident's or the owner's team.",
    )
    due_on = forms.DateField(required=False, widget=DateInput, label="Due on")
    priority = forms.ChoiceField(choices=ActionItem.Priority.choices, initial="p2")
    type = forms.ChoiceField(
        choices=ActionItem.Type.choices,
        initial="prevent",
        help_text="Prevent recurrence, detect sooner, mitigate faster, or fix a process.",
    )
    estimated_hours = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=7,
        decimal_places=1,
        label="Estimate (engineer-hours)",
    )
    actual_hours = forms.DecimalField(
        required=False, min_value=0, max_digits=7, decimal_places=1, label="Actual (engineer-hours)"
    )
    ticket_url = forms.URLField(required=False, label="Ticket link", assume_scheme="https")
    incident = forms.IntegerField(required=False, min_value=1, label="Incident # (optional)")

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user  # whose eyes the incident number is read with

    def clean_incident(self) -> Incident | None:
        number = self.cleaned_data.get("incident")
        if not number:
            return None
        try:
            return get_incident_for(self.user, number)
        except Http404:  # one the user cannot see: the same answer as a missing one
            raise forms.ValidationError(NO_SUCH_INCIDENT) from None


class CompleteForm(forms.Form):
    verification_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Verification note",
        help_text="How we know it works: the alert that fired in a drill, the test, the dashboard.",
    )
    actual_hours = forms.DecimalField(
        required=False, min_value=0, max_digits=7, decimal_places=1, label="Actual effort (hours)"
    )


class WontDoForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason",
        help_text="Why this will not be done (superseded, risk accepted, …).",
    )


class ReassignForm(forms.Form):
    owner = PersonChoiceField(
        queryset=active_people(), label="New owner", empty_label="Choose a person…"
    )


class ItemIdsField(forms.Field):
    """The ticked rows of the tracker (`items`, repeated): their ids; anything else is dropped."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        return [int(v) for v in value or [] if str(v).isdecimal()]


class BulkReassignForm(ReassignForm):
    items = ItemIdsField(error_messages={"required": "Select at least one item to reassign."})
