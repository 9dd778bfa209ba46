from .actions import ActionFilterForm, ActionItemForm, CompleteForm, ReassignForm, WontDoForm
from .incidents import IncidentEditForm, IncidentFilterForm, IncidentForm, NoteForm, StatusForm

__all__ = [
    "ActionFilterForm",
    "ActionItemForm",
    "CompleteForm",
    "IncidentEditForm",
    "IncidentFilterForm",
    "IncidentForm",
    "NoteForm",
    "ReassignForm",
    "StatusForm",
    "WontDoForm",
]
