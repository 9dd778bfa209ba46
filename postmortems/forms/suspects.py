from __future__ import annotations

from django import forms

from ..models import SuspectVerdict


class VerdictForm(forms.Form):
    verdict = forms.ChoiceField(choices=SuspectVerdict.Verdict.choices)
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="Why (optional)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. the slow query is in this diff"}),
    )
    confirm = forms.BooleanField(required=False)
