"""The API keeps its OpenAPI promise on real data (issue 12).

Loads the demo data, fetches `/api/schema/` the way a client does, then reads every list (page 1,
and the first cursor page where a list offers one) and every detail of every object the lists
name, validating each answer against the schema with schemathesis' own response validation
(status code documented, body matching the documented schema, nulls included). Generated cases
run in CI (`.ci/schemathesis.sh`); this test pins the schema to the data the product really holds.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from rest_framework.authtoken.models import Token
from werkzeug.test import Client

from metrics_link.models import MetricSeries
from tests.factories import UserFactory

# Where a detail operation finds its identifiers: (list path, key in each result).
SOURCES = {
    "/api/action-items/{id}/": ("/api/action-items/", "id"),
    "/api/experiments/{id}/": ("/api/experiments/", "id"),
    "/api/incidents/{id}/": ("/api/incidents/", "id"),
    "/api/incidents/{id}/suspects/": ("/api/incidents/", "id"),
    "/api/incidents/{id}/timeline/": ("/api/incidents/", "id"),
    "/api/incidents/{id}/whys/": ("/api/incidents/", "id"),
    "/api/postmortems/{incident_id}/": ("/api/postmortems/", "incident"),
    "/api/postmortems/{incident_id}/draft/": ("/api/incidents/", "id"),
    "/api/retros/{id}/": ("/api/retros/", "id"),
    "/api/reviews/{week}/": ("/api/reviews/", "iso_week"),
    "/api/services/{slug}/": ("/api/services/", "slug"),
    "/api/deploys/{id}/watch/": ("/api/deploys/", "id"),
}
# Detail operations without a list to find their identifiers in: read them from the database.
DB_SOURCES = {
    "/api/metrics/{name}/": lambda: list(
        MetricSeries.objects.order_by("name").values_list("name", flat=True)[:PER_LIST]
    ),
}
CURSOR_LISTS = ["/api/deploys/", "/api/incidents/", "/api/action-items/"]
PER_LIST = 12  # objects per detail operation: enough variety (nulls, restricted) and quick


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Like Django's test client: requests must not close the connection of the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _client_for(user):
    token = Token.objects.create(user=user)
    client = Client(get_wsgi_application())

    def get(path, **query):
        response = client.get(path, query_string=query, headers={"Authorization": f"Token {token}"})
        return response

    return get


def _check(schema, get, path, template=None, **query):
    response = get(path, **query)
    operation = schema[template or path]["GET"]
    operation.validate_response(response)
    return response


def _ids(response, key):
    body = json.loads(response.get_data())
    results = body["results"] if isinstance(body, dict) and "results" in body else body
    return [r[key] for r in results if isinstance(r, dict) and r.get(key) is not None]


@pytest.mark.postgres
@pytest.mark.parametrize("who", ["superuser", "employee"])
def test_every_list_and_detail_answer_on_the_demo_data_matches_the_schema(demo, who):
    user = UserFactory(is_superuser=who == "superuser", is_staff=who == "superuser")
    get = _client_for(user)
    raw = get("/api/schema/", format="json")
    assert raw.status_code == 200
    schema = schemathesis.openapi.from_dict(json.loads(raw.get_data()))

    list_paths = [
        p for p, ops in schema.raw_schema["paths"].items() if "get" in ops and "{" not in p
    ]
    lists = {p: _check(schema, get, p) for p in list_paths}
    for path in CURSOR_LISTS:
        first = _check(schema, get, path, cursor="")
        assert "count" not in json.loads(first.get_data())
    checked = set(list_paths)

    found = {t: _ids(lists[source], key)[:PER_LIST] for t, (source, key) in SOURCES.items()}
    found |= {t: values() for t, values in DB_SOURCES.items()}
    for template, values in found.items():
        assert values, f"the demo data has nothing to read at {template}"
        for value in values:
            path = template.replace(
                template[template.index("{") : template.index("}") + 1], str(value)
            )
            response = _check(schema, get, path, template)
            if template == "/api/incidents/{id}/whys/" and response.status_code == 200:
                nodes = json.loads(response.get_data())["nodes"]
                for node in [n["id"] for n in nodes][:3]:
                    _check(schema, get, f"/api/whys/{node}/", "/api/whys/{node_id}/")
                    checked.add("/api/whys/{node_id}/")
        checked.add(template)

    documented = {p for p, ops in schema.raw_schema["paths"].items() if "get" in ops}
    assert documented == checked, "a GET operation this test does not read"


@pytest.mark.postgres
def test_a_page_out_of_range_answers_as_documented_on_every_list(demo):
    get = _client_for(UserFactory(is_superuser=True))
    schema = schemathesis.openapi.from_dict(
        json.loads(get("/api/schema/", format="json").get_data())
    )
    list_paths = [
        p for p, ops in schema.raw_schema["paths"].items() if "get" in ops and "{" not in p
    ]
    for path in list_paths:
        for page, code in [("0", 400), ("null", 400), ("", 400), ("-1", 400), ("99999", 404)]:
            response = _check(schema, get, path, page=page)
            assert response.status_code == code, (path, page, response.get_data())
