from django.urls import path

from ..views import suspects

urlpatterns = [
    path("incidents/<int:pk>/suspects/", suspects.incident_suspects, name="incident-suspects"),
    path(
        "incidents/<int:pk>/suspects/<int:deploy_id>/verdict/",
        suspects.set_verdict,
        name="suspect-verdict",
    ),
    path(
        "incidents/<int:pk>/suspects/no-deploy/",
        suspects.no_deploy_involved,
        name="suspect-no-deploy",
    ),
    path(
        "incidents/<int:pk>/deploys/<int:deploy_id>/mitigation/",
        suspects.mark_mitigation,
        name="deploy-mitigation",
    ),
]
