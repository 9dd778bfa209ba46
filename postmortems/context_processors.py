from django.conf import settings


def product(request):
    """Values every template may use: the navigation and the product name."""
    return {
        "PRODUCT_NAME": "Postmortems",
        "NAV_ITEMS": [
            ("home", "Home", "/"),
            ("incidents", "Incidents", "/incidents/"),
            ("actions", "Actions", "/actions/"),
            ("postmortems", "Postmortems", "/postmortems/"),
            ("retros", "Retros", "/retros/"),
            ("reviews", "Reviews", "/reviews/"),
            ("deploys", "Deploys", "/deploys/"),
            ("alerts", "Alerts", "/alerts/"),
            ("services", "Services", "/services/"),
        ],
        "DEBUG": settings.DEBUG,
    }
