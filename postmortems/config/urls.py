from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from postmortems.oidc import views as oidc_views
from postmortems.views.home import healthz

# With LOCAL_LOGIN off, the admin's password form is for superusers too (README "Company sign-in").
admin.site.login_form = oidc_views.AdminLoginForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(
        "accounts/login/",
        oidc_views.SignInView.as_view(),
        name="login",
    ),
    path("accounts/logout/", oidc_views.SignOutView.as_view(), name="logout"),
    path("oidc/", include("postmortems.oidc.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The docs pages need sign-in like every page (anonymous → the login page); the schema
    # answers 403 to anonymous callers (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]).
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        login_required(SpectacularRedocView.as_view(url_name="api-schema")),
        name="api-redoc",
    ),
    path("api/", include("postmortems.api.urls")),
    path("api/", include("metrics_link.api.urls")),
    path("hooks/", include("metrics_link.webhooks.urls")),
    path("", include("metrics_link.urls")),
    path("", include("postmortems.urls")),
]
