"""Page URLs of the learning layer, one module per feature (each owns its own list)."""

from . import actions, documents, incidents, me, reviews, suspects, whys

app_name = "postmortems"

urlpatterns = [
    *incidents.urlpatterns,
    *suspects.urlpatterns,
    *whys.urlpatterns,
    *actions.urlpatterns,
    *documents.urlpatterns,
    *reviews.urlpatterns,
    *me.urlpatterns,
]
