from django.urls import path

from ..views import reviews

urlpatterns = [
    path("reviews/", reviews.review_list, name="review-list"),
    path("reviews/<str:week>/", reviews.review_detail, name="review-detail"),
    path("feeds/<str:token>/reviews.atom", reviews.review_feed, name="review-feed"),
    path("retros/", reviews.retro_list, name="retro-list"),
    path("retros/new/", reviews.retro_create, name="retro-create"),
    path("retros/<int:pk>/", reviews.retro_detail, name="retro-detail"),
    path("retros/<int:pk>/edit/", reviews.retro_edit, name="retro-edit"),
    path("retros/<int:pk>/items/", reviews.retro_add_item, name="retro-add-item"),
    path("retros/<int:pk>/items/<int:item_id>/vote/", reviews.retro_vote, name="retro-vote"),
    path("retros/<int:pk>/actions/", reviews.retro_add_action, name="retro-add-action"),
    path("retros/<int:pk>/publish/", reviews.retro_publish, name="retro-publish"),
    path("incidents/<int:pk>/recurrences/", reviews.recurrence_decide, name="recurrence-decide"),
]
