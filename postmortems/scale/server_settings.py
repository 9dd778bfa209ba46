"""Settings of the benchmark's own server only (`manage.py benchmark --scale`): the product's
settings unchanged, plus the floor view's URL. Never used by the product."""

from postmortems.config.settings import *  # noqa: F403

ROOT_URLCONF = "postmortems.scale.floor_urls"
