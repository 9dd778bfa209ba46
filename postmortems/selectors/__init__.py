"""Reads shared by pages, API, feeds and emails, with their joins; and the permission accessors.

`get_incident_for(user, pk)` is the one door to an incident: 404 when the user may not see it.
"""

from .incidents import get_incident_for, incident_list, visible_incidents

__all__ = ["get_incident_for", "incident_list", "visible_incidents"]
