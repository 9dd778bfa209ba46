"""Pages of the alerts feature."""

urlpatterns: list = []
