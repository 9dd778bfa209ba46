"""Pages of the deploys feature."""

urlpatterns: list = []
