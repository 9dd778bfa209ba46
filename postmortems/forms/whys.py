"""Forms of the guided why session. Each step is a plain POST that also works without JavaScript."""

from __future__ import annotations

from typing import Any

from django import forms

from ..models import ActionItem, WhyNode
from .fields import PersonChoiceField, active_people

MAX_TEXT = 5000
STEPS = ("deeper", "branch", "save")  # the session's buttons: Why?, Another cause, Save


class CategoryRadio(forms.RadioSelect):
    option_template_name = "postmortems/whys/_category_option.html"


class WhyForm(forms.Form):
    """One prompt: the question (editable), a large answer box and the category."""

    question = forms.CharField(required=False, max_length=MAX_TEXT)
    answer = forms.CharField(
        max_length=MAX_TEXT,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "class": "large why-answer",
                "autofocus": True,
                "placeholder": "Because… (describe the system, not a person)",
            }
        ),
        error_messages={"required": "Write the answer: why did this happen?"},
    )
    category = forms.ChoiceField(
        choices=WhyNode.Category.choices, required=False, widget=CategoryRadio
    )
    evidence = forms.CharField(
        required=False,
        max_length=10000,
        label="Evidence links",
        help_text="Dashboards, logs, commits: one link per line.",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "https://grafana/d/db-master"}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The button pressed, else the page's default for this level; anything else: "deeper".
    step = forms.CharField(required=False, widget=forms.HiddenInput)
    default_step = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_evidence(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["evidence"].splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        step = data.get("step") or data.get("default_step") or "deeper"
        data["step"] = step if step in STEPS else "deeper"
        return data


class CorrectiveActionForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        label="What will be done",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Cache the recently-viewed query"}),
    )
    owner = PersonChoiceField(
        queryset=active_people(), label="Owner", empty_label="Choose a person…"
    )
    due_on = forms.DateField(label="Due date", widget=forms.DateInput(attrs={"type": "date"}))
    type = forms.ChoiceField(choices=ActionItem.Type.choices, initial="prevent")
    estimated_hours = forms.DecimalField(
        label="Effort (engineer-hours)", min_value=0, max_digits=7, decimal_places=1, required=False
    )
    priority = forms.ChoiceField(choices=ActionItem.Priority.choices, initial="p2")


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2}), label="Reason"
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class LevelForm(WhyForm):
    """One level of the session in one form: the answer, its category and its corrective action
    (title only; owner, due date and effort default and can be changed later on the action)."""

    node = forms.IntegerField(required=False, widget=forms.HiddenInput)
    action_title = forms.CharField(
        required=False,
        max_length=200,
        label="Corrective action",
        widget=forms.TextInput(
            attrs={"placeholder": "What will be done, e.g. Cache the recently-viewed query"}
        ),
    )
    action_type = forms.ChoiceField(
        choices=ActionItem.Type.choices, initial="prevent", required=False, label="Type"
    )

    def clean_action_type(self) -> str:
        return self.cleaned_data.get("action_type") or ActionItem.Type.PREVENT


class HintsForm(forms.Form):
    """The text being typed, for the live blameless hints: the answer box (or any `text`)."""

    answer = forms.CharField(required=False, max_length=MAX_TEXT, strip=False)
    text = forms.CharField(required=False, max_length=MAX_TEXT, strip=False)

    def text_to_check(self) -> str:
        return self.cleaned_data.get("answer") or self.cleaned_data.get("text") or ""
