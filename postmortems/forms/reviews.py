"""Forms of the reviews feature: retrospectives, their items, their action items, recurrence decisions."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from metrics_link.models import Team

from ..models import RetroItem
from .fields import active_people

User = get_user_model()


class DateInput(forms.DateInput):
    input_type = "date"


class RetroForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label="Choose a team…")
    name = forms.CharField(max_length=200, help_text="e.g. “Sprint 48”.")
    sprint_start = forms.DateField(widget=DateInput)
    sprint_end = forms.DateField(widget=DateInput)
    facilitator = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="No one"
    )
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Markdown. What the team takes away from the sprint.",
    )

    def __init__(self, *args, user=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.all()
        if user is not None and not user.is_superuser:
            teams = teams.filter(Q(members=user) | Q(manager=user)).distinct()
        self.fields["team"].queryset = teams.order_by("name")
        self.fields["facilitator"].queryset = active_people()
        if editing:
            del self.fields["team"]


class RetroItemForm(forms.Form):
    column = forms.ChoiceField(choices=RetroItem.Column.choices)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class RetroActionForm(forms.Form):
    title = forms.CharField(max_length=200, label="Action item")
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="No one yet"
    )
    due_on = forms.DateField(widget=DateInput, required=False, label="Due")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_people()


class RecurrenceDecisionForm(forms.Form):
    earlier = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("confirm", "Confirm"), ("dismiss", "Dismiss")])
    reason = forms.CharField(
        max_length=1000,
        help_text="Why it is (or is not) the same cause coming back.",
    )
