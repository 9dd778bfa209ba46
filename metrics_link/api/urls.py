from . import catalog, deploys, metrics, watch

urlpatterns = [*catalog.urlpatterns, *deploys.urlpatterns, *metrics.urlpatterns, *watch.urlpatterns]
