from django.apps import AppConfig


class MetricsLinkConfig(AppConfig):
    name = "metrics_link"
    verbose_name = "Production (catalog, deploys, alerts, metrics)"

    def ready(self) -> None:
        # Registers the webhook processors and service-page sections of each feature.
        from .services import alerts  # noqa: F401
        from .views import alerts as alert_views

        alert_views.register()
