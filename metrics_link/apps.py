from django.apps import AppConfig


class MetricsLinkConfig(AppConfig):
    name = "metrics_link"
    verbose_name = "Production (catalog, deploys, alerts, metrics)"

    def ready(self) -> None:
        # Importing the services registers the webhook processors (GitHub, GitLab, Alertmanager,
        # PagerDuty); the views add their service-page sections.
        from . import selectors
        from .services import alerts, deploys  # noqa: F401
        from .views import alerts as alert_views
        from .views.deploys import service_deploys_section

        if service_deploys_section not in selectors.SERVICE_PAGE_SECTIONS:
            selectors.SERVICE_PAGE_SECTIONS.insert(0, service_deploys_section)
        alert_views.register()
