from django.urls import path

from ..views import me

urlpatterns = [
    path("me/", me.me, name="me"),
    path("subscribe/", me.subscribe, name="subscribe"),
    path("me/reset-feed-token/", me.reset_token, name="me-reset-token"),
    path("me/preferences/", me.preferences, name="me-preferences"),
]
