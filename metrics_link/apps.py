from django.apps import AppConfig


class MetricsLinkConfig(AppConfig):
    name = "metrics_link"
    verbose_name = "Production (catalog, deploys, alerts, metrics)"

    def ready(self) -> None:
        # The views add their service-page sections.
        from . import selectors  # imports models: cannot load before the app registry is ready
        from .views import alerts as alert_views  # imports models, as above
        from .views.deploys import service_deploys_section  # imports models, as above

        if service_deploys_section not in selectors.SERVICE_PAGE_SECTIONS:
            selectors.SERVICE_PAGE_SECTIONS.insert(0, service_deploys_section)
        alert_views.register()
