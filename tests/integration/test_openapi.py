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


def test_given_served_document_when_read_then_every_operation_documents_the_errors_any_route_can_give(api):
    doc = api.call("GET", "/openapi.json").data
    error = {"$ref": "#/components/schemas/ErrorBody"}
    assert set(doc["components"]["schemas"]["ErrorBody"]["required"]) == {"code", "message"}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for status in ("404", "405", "413", "415", "429", "500"):  # the gateway's and the framework's, on any route
                assert op["responses"][status]["content"]["application/json"]["schema"] == error, (method, path, status)


def test_given_patch_field_that_must_keep_a_value_when_documented_then_it_is_not_nullable(api):
    schemas = api.call("GET", "/openapi.json").data["components"]["schemas"]
    form_patch = schemas["FormPatch"]["properties"]
    assert form_patch["spec"] == {"$ref": "#/components/schemas/FormSpec"}  # no `null`, no `default: null`
    assert {"type": "null"} in form_patch["flow_id"]["anyOf"]  # null unbinds the flow
