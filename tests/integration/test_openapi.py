"""The served OpenAPI document is a valid OpenAPI 3.1 document that describes every route."""
from __future__ import annotations

from openapi_spec_validator import validate

from chalicelib.core.api import ROUTES


def test_given_served_document_when_validated_then_valid_3_1_with_every_route(api):
    doc = api.call("GET", "/openapi.json").data
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    for spec in ROUTES.values():
        op = doc["paths"][spec.path][spec.method.lower()]
        assert op["summary"]
        assert str(spec.status) in op["responses"]
        if not spec.public:
            assert "401" in op["responses"]
    create = doc["paths"]["/v1/customers"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    patch = doc["paths"]["/v1/customers/{customer_id}"]["patch"]
    assert any(p["name"] == "If-Match" for p in patch["parameters"])
    assert doc["components"]["schemas"]["CustomerIn"]["properties"]["name"]["maxLength"] == 100
