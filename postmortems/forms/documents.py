"""The postmortem editor: every section, the chosen reviewers and the draft's version in one form."""

from __future__ import annotations

from django import forms

from ..models.documents import SECTIONS, Postmortem
from ..services.documents import MAX_SECTION_CHARS
from .fields import PersonChoiceField

# Buttons of the one editor form (`name="action"`): what to do after the text is saved.
SAVE, SUBMIT, REFRESH = "save", "submit", "refresh"
REGENERATE_PREFIX = "regenerate:"


class ReviewersField(forms.ModelMultipleChoiceField):
    """Several people, each shown as "Full Name (username)"."""

    label_from_instance = PersonChoiceField.label_from_instance


class DraftForm(forms.Form):
    """One form for the whole draft. Only the sections present in the request are saved (a form
    that lacks a section never clears it), and reviewers only when the form showed the picker
    (`reviewers_shown`), so "Submit for review" carries the choice on screen."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reviewers = ReviewersField(queryset=Postmortem.objects.none(), required=False)
    reviewers_shown = forms.BooleanField(required=False, widget=forms.HiddenInput)
    override_reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)

    def __init__(self, *args, postmortem: Postmortem, reviewer_choices, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "version": postmortem.version,
                "reviewers": list(postmortem.reviewers.values_list("pk", flat=True)),
                "reviewers_shown": True,
                **{key: postmortem.sections.get(key) or "" for key, _ in SECTIONS},
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = reviewer_choices
        for key, title in SECTIONS:
            self.fields[key] = forms.CharField(
                label=title,
                required=False,
                strip=False,
                max_length=MAX_SECTION_CHARS,
                widget=forms.Textarea,
            )
        self.fields["version"].error_messages["required"] = (
            "This page is out of date (no draft version): reload it and save again."
        )

    def sections(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key, _ in SECTIONS if key in self.data}

    def chosen_reviewers(self):
        """The reviewers on screen, or None when the form did not show the picker."""
        if not self.cleaned_data.get("reviewers_shown"):
            return None
        return list(self.cleaned_data["reviewers"])


class CommentForm(forms.Form):
    """A reviewer's comment on approving or requesting changes (required only for the latter,
    which the service decides)."""

    comment = forms.CharField(required=False, max_length=5000)
