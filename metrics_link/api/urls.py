from . import catalog, deploys, metrics

urlpatterns = [*catalog.urlpatterns, *deploys.urlpatterns, *metrics.urlpatterns]
