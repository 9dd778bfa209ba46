from django.apps import AppConfig


class MetricsLinkConfig(AppConfig):
    name = "metrics_link"
    verbose_name = "Production (catalog, deploys, alerts, metrics)"
