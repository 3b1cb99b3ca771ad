"""The published schema is an integrator's manual: every field and parameter says what it is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def published_schema(django_db_blocker) -> dict:
    """The schema exactly as `/api/schema/` serves it, in JSON (no database rows needed)."""
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _undescribed_properties(schema: dict, where: str) -> Iterator[str]:
    """Every property, at any depth of an inline schema, whose description is empty."""
    for name, prop in (schema.get("properties") or {}).items():
        if not str(prop.get("description") or "").strip():
            yield f"{where}.{name}"
        yield from _undescribed_properties(prop, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _undescribed_properties(schema[key], f"{where}[]")
    for key in ("allOf", "oneOf", "anyOf"):
        for i, part in enumerate(schema.get(key) or ()):
            yield from _undescribed_properties(part, f"{where}<{key}{i}>")


def _parameters(schema: dict) -> Iterator[tuple[str, dict]]:
    for path, item in schema["paths"].items():
        for parameter in item.get("parameters") or ():
            yield path, parameter
        for method in HTTP_METHODS:
            for parameter in (item.get(method) or {}).get("parameters") or ():
                yield f"{method.upper()} {path}", parameter


def test_every_component_property_in_the_schema_has_a_description(published_schema):
    components = published_schema["components"]["schemas"]
    assert len(components) > 30  # the walk really covers the API's shapes
    missing = [
        where
        for name, component in components.items()
        for where in _undescribed_properties(component, name)
    ]
    assert missing == []


def test_every_path_and_query_parameter_in_the_schema_has_a_description(published_schema):
    parameters = list(_parameters(published_schema))
    names = {parameter["name"] for _, parameter in parameters}
    # Path ids, paging and filters are all among those walked.
    assert {"id", "plan_pk", "cursor", "page_size", "patient", "outcome"} <= names
    missing = [
        f"{where} {parameter['in']}:{parameter['name']}"
        for where, parameter in parameters
        if not str(parameter.get("description") or "").strip()
    ]
    assert missing == []


def test_a_detail_route_id_names_the_record_it_picks(published_schema):
    """An integrator reads which record an `{id}` is, not a bare "id"."""
    operation = published_schema["paths"]["/api/v1/patients/{id}/"]["get"]
    (id_parameter,) = [p for p in operation["parameters"] if p["name"] == "id"]
    assert "patient" in id_parameter["description"]
    alert = published_schema["paths"]["/api/v1/alerts/{id}/"]["get"]
    (alert_id,) = [p for p in alert["parameters"] if p["name"] == "id"]
    assert "alert" in alert_id["description"]
