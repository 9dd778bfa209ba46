from django.urls import path

from ..views import actions

urlpatterns = [
    path("actions/", actions.action_list, name="action-list"),
    path("actions/new/", actions.action_create, name="action-create"),
    path("actions/reassign/", actions.bulk_reassign, name="action-bulk-reassign"),
    path("actions/teams/", actions.action_teams, name="action-teams"),
    path("actions/teams/<slug:slug>/", actions.team_actions, name="action-team"),
    path("actions/<int:pk>/", actions.action_detail, name="action-detail"),
    path("actions/<int:pk>/edit/", actions.action_edit, name="action-edit"),
    path("actions/<int:pk>/history/", actions.action_history, name="action-history"),
    path(
        "actions/<int:pk>/<str:move>/",
        actions.action_transition,
        name="action-transition",
    ),
    path("feeds/<str:token>/actions.ics", actions.actions_ics, name="actions-ics"),
]
