"""ASGI entry point. Serve with WSGI (gunicorn) in production: see STACK notes in the README."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postmortems.config.settings")
application = get_asgi_application()
