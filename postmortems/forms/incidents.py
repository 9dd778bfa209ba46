from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from metrics_link.models import Service, Team
from metrics_link.services.catalog import service_slug

from ..models import Incident
from ..models.incidents import SEVERITY_MEANINGS, Severity
from ..services.incidents import EDITABLE_FIELDS
from .fields import (
    NO_JS_HINT,
    PeopleChoiceField,
    PersonChoiceField,
    PickerSelectMultiple,
    active_people,
)

DT_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DT_FORMAT, **kwargs)


class SeverityRadio(forms.RadioSelect):
    option_template_name = "includes/severity_option.html"


class PickedOrTypedServices(forms.ModelMultipleChoiceField):
    """Required, as the label says, but satisfied by a name typed beside it (the form's clean())."""

    def clean(self, value):
        if not value:
            return self.queryset.none()
        return super().clean(value)


class IncidentForm(forms.Form):
    """Filing an incident: three required fields; everything else can come later."""

    title = forms.CharField(
        max_length=200,
        widget=forms.TextInput(
            attrs={"autofocus": True, "placeholder": "e.g. Logins failing for all users"}
        ),
    )
    severity = forms.ChoiceField(
        choices=[(s.value, f"{s.label}: {SEVERITY_MEANINGS[s.value]}") for s in Severity],
        widget=SeverityRadio,
        initial="sev2",
    )
    services = PickedOrTypedServices(
        queryset=Service.objects.order_by("slug"),
        to_field_name="slug",
        widget=PickerSelectMultiple(
            placeholder="Type a service…",
            create_into="id_new_services",
            create_label="Add new service “{}”",
        ),
        help_text=NO_JS_HINT,
    )
    new_services = forms.CharField(
        required=False,
        max_length=500,
        label="New service",
        help_text="Not in the list? Type its name (comma-separate several): it is added to the "
        "catalog, unclaimed, for its team to claim.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Checkout API", "autocomplete": "off"}),
    )
    impact = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What users and the business see"}),
        help_text="The why chain starts from this sentence.",
    )
    summary = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Markdown."
    )
    started_at = forms.DateTimeField(
        required=False,
        widget=LocalDateTimeInput(),
        input_formats=[DT_FORMAT],
        help_text="Leave empty for now.",
        label="Started at",
    )
    commander = PersonChoiceField(
        queryset=active_people(), required=False, help_text="Defaults to you.", empty_label="Me"
    )
    responders = PeopleChoiceField(required=False)
    visibility = forms.ChoiceField(
        choices=Incident.Visibility.choices,
        initial="public",
        widget=forms.RadioSelect,
        help_text="Restricted incidents are seen only by their commander, reporter and responders.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A fresh install has no catalog yet: the person names the service by typing it.
        self.catalog_empty = not Service.objects.exists()
        if self.catalog_empty:
            self.fields["new_services"].label = "Service"
            self.fields["new_services"].required = True
            self.fields["new_services"].error_messages["required"] = (
                "Type the affected service's name."
            )
            self.fields["new_services"].help_text = (
                "The catalog is empty: type the affected service's name (comma-separate several). "
                "It is added, unclaimed, for its team to claim."
            )

    def clean_started_at(self):
        value = self.cleaned_data.get("started_at")
        if value and value > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError("The start cannot be in the future.")
        return value

    def clean_new_services(self) -> list[str]:
        names = [n.strip() for n in self.cleaned_data["new_services"].split(",") if n.strip()]
        for name in names:
            if service_slug(name) == "unknown" and name.lower() != "unknown":
                raise forms.ValidationError(
                    f"“{name}” needs letters or digits to become a service name."
                )
        return names

    def clean(self):
        data = super().clean()
        picked = list(data.get("services") or [])
        typed = data.get("new_services") or []
        if not picked and not typed and not {"services", "new_services"} & set(self.errors):
            field = "new_services" if self.catalog_empty else "services"
            self.add_error(field, "Name at least one affected service: pick it or type its name.")
        # The view hands both to open_incident: catalog services, and names it creates unclaimed.
        data["services"] = [*picked, *typed]
        return data


class IncidentEditForm(forms.ModelForm):
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("slug"),
        to_field_name="slug",
        widget=PickerSelectMultiple(placeholder="Type a service…"),
        help_text=NO_JS_HINT,
    )
    responders = PeopleChoiceField(required=False)

    class Meta:
        model = Incident
        fields = list(EDITABLE_FIELDS)  # the service's list: one home for what may be edited
        widgets = {
            "impact": forms.Textarea(attrs={"rows": 2}),
            "summary": forms.Textarea(attrs={"rows": 5}),
            "started_at": LocalDateTimeInput(),
            "detected_at": LocalDateTimeInput(),
            "mitigated_at": LocalDateTimeInput(),
            "resolved_at": LocalDateTimeInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("started_at", "detected_at", "mitigated_at", "resolved_at"):
            self.fields[name].input_formats = [DT_FORMAT]
        self.fields["commander"].queryset = active_people()
        self.fields["reporter"].queryset = active_people()
        if self.instance.pk:
            self.fields["services"].initial = list(
                self.instance.services.values_list("slug", flat=True)
            )
            self.fields["responders"].initial = list(self.instance.responders.all())


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Add to the timeline",
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": "What happened, what you tried, what you saw. Markdown.",
            }
        ),
        max_length=20000,
    )
    at = forms.DateTimeField(
        required=False,
        widget=LocalDateTimeInput(),
        input_formats=[DT_FORMAT],
        label="When",
        help_text="Leave empty for now.",
    )
    starred = forms.BooleanField(required=False, label="Key moment")


class StatusForm(forms.Form):
    to = forms.ChoiceField(choices=Incident.Status.choices)
    reason = forms.ChoiceField(choices=[("", "—"), *Incident.CloseReason.choices], required=False)
    duplicate_of = forms.IntegerField(required=False, min_value=1, label="Duplicate of #")
    note = forms.CharField(required=False, max_length=2000)


class IncidentFilterForm(forms.Form):
    label_suffix = ""

    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Title, summary, impact"}),
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), ("open", "Open"), *Incident.Status.choices]
    )
    severity = forms.ChoiceField(required=False, choices=[("", "Any severity"), *Severity.choices])
    service = forms.ModelChoiceField(
        required=False,
        queryset=Service.objects.order_by("slug"),
        to_field_name="slug",
        empty_label="Any service",
    )
    team = forms.ModelChoiceField(
        required=False,
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Any team",
    )
    sort = forms.ChoiceField(
        required=False, choices=[("-started", "Newest first"), ("started", "Oldest first")]
    )
