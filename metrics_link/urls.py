"""Page URLs of the production layer: catalog, deploys, alerts."""

from django.urls import path

from .views import alerts, catalog, deploys

app_name = "metrics_link"

urlpatterns = [
    path("services/", catalog.catalog, name="catalog"),
    path("services/<slug:slug>/", catalog.service_detail, name="service-detail"),
    path("services/<slug:slug>/claim/", catalog.claim, name="service-claim"),
    path("teams/<slug:slug>/", catalog.team_detail, name="team-detail"),
    *deploys.urlpatterns,
    *alerts.urlpatterns,
]
