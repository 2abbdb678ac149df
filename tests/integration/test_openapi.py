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


def test_given_routes_whose_bodies_share_a_class_name_then_each_documents_the_body_it_accepts(api):
    """Two modules may both name a model `TransferIn` (a record's transfer, an approval's 转交): the
    document has one schema per name, and every operation's request body is its own route's model."""
    from chalicelib.core.api import resolve

    doc = api.call("GET", "/openapi.json").data
    schemas = doc["components"]["schemas"]
    by_schema: dict[str, type] = {}
    for spec in ROUTES.values():
        if spec.body is None:
            continue
        model = resolve(spec.body)
        ref = doc["paths"][spec.path][spec.method.lower()]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[-1]
        fields = {f.alias or k for k, f in model.model_fields.items()}
        assert set(schemas[name].get("properties", {})) == fields, (spec.method, spec.path, name)
        assert by_schema.setdefault(name, model) is model, f"{name} documents two different models"
    transfer = doc["paths"]["/v1/approvals/{instance_id}/transfer"]["post"]["requestBody"]["content"]["application/json"]
    assert "to_user_id" in schemas[transfer["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert "keep_previous_owner_as" not in schemas[transfer["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"]
