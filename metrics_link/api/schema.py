"""OpenAPI postprocessing: the error answers every operation can give, in one place.

Views document their success bodies and the errors particular to them (412, 428, 422, ...); this
hook adds what every operation shares, with the one error body shape of the API
(`postmortems/api/errors.py`):

- 400 `{"field": ["message", ...]}` or `{"detail": "message"}` on every write and on every
  operation with query parameters (filters, `page`, `cursor`): bad input or a broken rule.
- 403 `{"detail": ...}` everywhere: not signed in (session or token), or a write you may not make
  on an object you can see (the reason is in `detail`).
- 404 `{"detail": ...}` on every operation with a path parameter (no such object, or one you may
  not see) and on every paginated list (a page past the end).
- 415 on every operation with a body: a content type other than JSON, form or multipart.
"""

from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERROR = {"$ref": "#/components/schemas/ValidationError"}
COMPONENTS = {
    "Error": {
        "type": "object",
        "description": "An error with one message.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": (
            'Bad input: messages per field, {"title": ["This field is required."]} (nested the '
            'way the request is: {"commits": [{"sha": ["..."]}]}), or one message, '
            '{"detail": "..."}. "non_field_errors" holds messages about the whole object.'
        ),
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": True,
        "minProperties": 1,
    },
}
DEFAULTS = {
    "400": ("Bad input or a broken rule.", VALIDATION_ERROR),
    "403": (
        "Not signed in (no valid session or token), or a change you may not make on an object "
        "you can see; `detail` says why.",
        ERROR,
    ),
    "404": ("No such object, one you may not see, or a page past the end of the list.", ERROR),
    "415": ("Unsupported content type: send JSON (or a form).", ERROR),
}
WRITES = {"post", "put", "patch", "delete"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


URL_OR_BLANK = r"^(|(https?|ftps?)://\S+)$"


def _url_or_blank(prop: dict) -> dict:
    """`oneOf: [{format: uri}, {maxLength: 0}]` (a URL field that takes "") as one string with a
    pattern: schema tools read that `oneOf` unevenly (some test "" against the uri branch alone)."""
    branches = prop.get("oneOf") or []
    if (
        len(branches) == 2
        and branches[0].get("format") == "uri"
        and branches[1].get("maxLength") == 0
    ):
        flat = {k: v for k, v in branches[0].items() if k != "format"}
        flat["pattern"] = URL_OR_BLANK
        return flat
    return prop


def add_error_responses(result: dict, generator, request, public) -> dict:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for component in schemas.values():
        for name, prop in (component.get("properties") or {}).items():
            component["properties"][name] = _url_or_blank(prop)
    for name, schema in COMPONENTS.items():
        schemas.setdefault(name, schema)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            params = operation.get("parameters", [])
            has_query = any(p.get("in") == "query" for p in params)
            wanted = {"403"}
            if method in WRITES or has_query:
                wanted.add("400")
            if "{" in path or any(p.get("name") == "page" for p in params):
                wanted.add("404")
            if "requestBody" in operation:
                wanted.add("415")
            responses = operation.setdefault("responses", {})
            for code in sorted(wanted):
                description, schema = DEFAULTS[code]
                response = responses.setdefault(code, {"description": description})
                response.setdefault("content", _json(schema))
            for code, response in responses.items():
                if code.startswith("4") and "content" not in response:
                    response["content"] = _json(VALIDATION_ERROR if code == "400" else ERROR)
    return result
