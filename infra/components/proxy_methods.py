"""The API definition's Lambda proxy methods, without what a proxy integration never reads (template size).

``chalice package`` writes the same fields on every method of every path (534 methods, about 290 bytes of each
beyond what API Gateway uses for a Lambda proxy). With ``aws_proxy`` API Gateway hands the whole request to the
function and the function's answer to the client as it is, so these are dropped; the methods behave the same:

- ``consumes``: the media types a request body may have; API Gateway derives request models from it only for a
  ``body`` parameter, which no Chalice method declares (the function reads the body itself);
- ``produces`` and the ``200`` response's ``schema`` (the ``Empty`` model): method response models, which a proxy
  integration does not apply (its answer is the function's, status, headers and body);
- the integration's ``passthroughBehavior``: proxy integrations pass every request through whatever it says.

Kept: the method responses' status codes, the integration (type, URI, HTTP method, content handling, responses),
path parameters, summaries. ``infra/components/preflight.py`` does the same for the ``OPTIONS`` mocks.
"""
from __future__ import annotations

from typing import Any

#: Methods of an OpenAPI (swagger 2) path item (``options`` among them, but preflights are mocks).
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method")


def compact_proxy_methods(definition: dict[str, Any]) -> int:
    """Trim every Lambda proxy method of an OpenAPI (swagger 2) `definition` in place; returns how many it trimmed."""
    trimmed = 0
    for methods in definition.get("paths", {}).values():
        for name, operation in methods.items():
            if name not in HTTP_METHODS or not isinstance(operation, dict):
                continue
            integration = operation.get("x-amazon-apigateway-integration", {})
            if integration.get("type") != "aws_proxy":
                continue
            if not any(parameter.get("in") == "body" for parameter in operation.get("parameters", [])):
                operation.pop("consumes", None)
            operation.pop("produces", None)
            for response in operation.get("responses", {}).values():
                response.pop("schema", None)
            integration.pop("passthroughBehavior", None)
            trimmed += 1
    return trimmed


def compact_sam_proxy_methods(sam: dict[str, Any]) -> int:
    """`compact_proxy_methods` on every ``AWS::Serverless::Api`` definition body of a SAM template."""
    return sum(compact_proxy_methods(resource["Properties"]["DefinitionBody"]) for resource in sam.get("Resources", {}).values()
               if resource.get("Type") == "AWS::Serverless::Api" and "DefinitionBody" in resource.get("Properties", {}))
