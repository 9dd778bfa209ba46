from .incidents import IncidentEditForm, IncidentFilterForm, IncidentForm, NoteForm, StatusForm

__all__ = ["IncidentEditForm", "IncidentFilterForm", "IncidentForm", "NoteForm", "StatusForm"]
