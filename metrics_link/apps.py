from django.apps import AppConfig


class MetricsLinkConfig(AppConfig):
    name = "metrics_link"
    verbose_name = "Production (catalog, deploys, alerts, metrics)"

    def ready(self) -> None:
        # Importing the deploys service registers the GitHub and GitLab webhook processors.
        from . import selectors
        from .services import deploys  # noqa: F401
        from .views.deploys import service_deploys_section

        if service_deploys_section not in selectors.SERVICE_PAGE_SECTIONS:
            selectors.SERVICE_PAGE_SECTIONS.insert(0, service_deploys_section)
