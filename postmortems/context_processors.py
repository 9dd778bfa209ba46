from django.conf import settings
from django.urls import reverse

# The main navigation: (key the page marks as current, label, URL name).
NAV = [
    ("home", "Home", "postmortems:home"),
    ("incidents", "Incidents", "postmortems:incident-list"),
    ("actions", "Actions", "postmortems:action-list"),
    ("postmortems", "Postmortems", "postmortems:postmortem-library"),
    ("retros", "Retros", "postmortems:retro-list"),
    ("reviews", "Reviews", "postmortems:review-list"),
    ("deploys", "Deploys", "metrics_link:deploy-list"),
    ("alerts", "Alerts", "metrics_link:alert-list"),
    ("services", "Services", "metrics_link:catalog"),
]


def product(request):
    """Values every template may use: the navigation and the product name."""
    return {
        "PRODUCT_NAME": "Postmortems",
        "NAV_ITEMS": [(key, label, reverse(name)) for key, label, name in NAV],
        "DEBUG": settings.DEBUG,
    }
