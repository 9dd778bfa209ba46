from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Postmortems (incidents, whys, actions, reviews)"

    def ready(self) -> None:
        # Imported here, not at the top: they import models, which load only once the registry is ready.
        from . import checks, wiring  # noqa: F401 - checks registers the deploy checks

        wiring.connect()
