from django.urls import re_path
from rest_framework import exceptions
from rest_framework.views import APIView

from . import catalog, deploys, metrics, watch


class NoSuchEndpoint(APIView):
    """Any other address under /api/ (e.g. /api/incidents/abc/): a JSON 404, like the rest of the
    API, instead of the HTML page (403 first when not signed in, as everywhere)."""

    schema = None  # not an operation

    def _missing(self, request, *args, **kwargs):
        raise exceptions.NotFound("No such address in the API; see /api/docs/.")

    get = post = put = patch = delete = head = options = _missing


# Included last under "api/" (postmortems/config/urls.py), so the catch-all comes after every route.
urlpatterns = [
    *catalog.urlpatterns,
    *deploys.urlpatterns,
    *metrics.urlpatterns,
    *watch.urlpatterns,
    re_path(r"^.*$", NoSuchEndpoint.as_view(), name="api-not-found"),
]
