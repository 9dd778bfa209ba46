from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """`{{ form.field.as_field_group }}` renders label, widget, help and errors our way."""

    field_template_name = "includes/field.html"
