from django.urls import path

from . import views

app_name = "oidc"

urlpatterns = [
    path("authenticate/", views.start, name="start"),
    path("callback/", views.callback, name="callback"),
]
