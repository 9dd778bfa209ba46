"""API URLs of the learning layer, one module per feature."""

from . import actions, documents, incidents, reviews, suspects, whys

urlpatterns = [
    *incidents.urlpatterns,
    *suspects.urlpatterns,
    *whys.urlpatterns,
    *actions.urlpatterns,
    *documents.urlpatterns,
    *reviews.urlpatterns,
]
