from django.urls import path

from .views import AlertmanagerWebhook, GitHubWebhook, GitLabWebhook, PagerDutyWebhook

urlpatterns = [
    path("github/", GitHubWebhook.as_view(), name="hook-github"),
    path("gitlab/", GitLabWebhook.as_view(), name="hook-gitlab"),
    path("alertmanager/", AlertmanagerWebhook.as_view(), name="hook-alertmanager"),
    path("pagerduty/", PagerDutyWebhook.as_view(), name="hook-pagerduty"),
]
