from django.urls import path

from ..views import whys

urlpatterns = [
    path("incidents/<int:pk>/whys/", whys.whys_session, name="whys"),
    path("incidents/<int:pk>/whys/add/", whys.whys_add, name="whys-add"),
    path("incidents/<int:pk>/whys/level/", whys.whys_level, name="whys-level"),
    path("incidents/<int:pk>/whys/hints/", whys.whys_hints, name="whys-hints"),
    path("incidents/<int:pk>/whys/<int:node_id>/", whys.whys_update, name="whys-update"),
    path("incidents/<int:pk>/whys/<int:node_id>/action/", whys.whys_action, name="whys-action"),
    path("incidents/<int:pk>/whys/<int:node_id>/risk/", whys.whys_risk, name="whys-risk"),
    path("incidents/<int:pk>/whys/<int:node_id>/stop/", whys.whys_stop, name="whys-stop"),
    path("incidents/<int:pk>/whys/<int:node_id>/delete/", whys.whys_delete, name="whys-delete"),
]
