from django.urls import path

from ..views import documents as views

urlpatterns = [
    path("incidents/<int:pk>/postmortem/", views.editor, name="postmortem-editor"),
    path("incidents/<int:pk>/postmortem/start/", views.start, name="postmortem-start"),
    path("incidents/<int:pk>/postmortem/save/", views.save, name="postmortem-save"),
    path(
        "incidents/<int:pk>/postmortem/submit/",
        views.save,
        {"action": "submit"},
        name="postmortem-submit",
    ),
    path("incidents/<int:pk>/postmortem/approve/", views.approve, name="postmortem-approve"),
    path(
        "incidents/<int:pk>/postmortem/request-changes/",
        views.request_changes,
        name="postmortem-request-changes",
    ),
    path("incidents/<int:pk>/postmortem/publish/", views.publish, name="postmortem-publish"),
    path("postmortems/", views.library, name="postmortem-library"),
    path("postmortems/<int:pk>/", views.detail, name="postmortem-detail"),
    path("postmortems/<int:pk>/v<int:number>/", views.detail, name="postmortem-version"),
    path("postmortems/<int:pk>/download.md", views.download, name="postmortem-download"),
    path("feeds/<str:token>/postmortems.atom", views.postmortem_feed, name="postmortem-feed"),
]
