"""The product's URLs plus the floor: a trivial signed-in view returning a short HTML string,
served by the same server and middleware as the pages it is compared with (benchmark only)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<p>Hello {request.user.username}</p>")


urlpatterns = [
    path("__floor__/", floor, name="scale-floor"),
    path("", include("postmortems.config.urls")),
]
