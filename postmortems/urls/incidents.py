from django.urls import path

from ..views import home, incidents

urlpatterns = [
    path("", home.home, name="home"),
    path("incidents/", incidents.incident_list_view, name="incident-list"),
    path("incidents/new/", incidents.incident_create, name="incident-create"),
    path("incidents/<int:pk>/", incidents.incident_detail, name="incident-detail"),
    path("incidents/<int:pk>/edit/", incidents.incident_edit, name="incident-edit"),
    path("incidents/<int:pk>/history/", incidents.incident_history, name="incident-history"),
    path("incidents/<int:pk>/status/", incidents.incident_status, name="incident-status"),
    path("incidents/<int:pk>/notes/", incidents.add_note, name="incident-add-note"),
    path("incidents/<int:pk>/join/", incidents.join, name="incident-join"),
    path(
        "incidents/<int:pk>/timeline/entries/",
        incidents.timeline_entries,
        name="incident-timeline-entries",
    ),
    path(
        "incidents/<int:pk>/timeline/<int:entry_id>/star/",
        incidents.toggle_star,
        name="timeline-star",
    ),
]
