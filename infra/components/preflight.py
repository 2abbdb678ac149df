"""CORS preflight methods of the API definition, without what a preflight never uses.

``chalice package`` gives every path an ``OPTIONS`` mock integration answering the browser's preflight
(``cors=True`` on the routes, ``chalicelib/core/cors.py``): about 1.2 KB of the template per path, 450 KB
for the ~390 paths, close to half the stage stack's CloudFormation template, which must stay under 1 MB. Three
parts of each are dropped; the preflight's answer is unchanged:

- ``Access-Control-Expose-Headers``: browsers read it from the actual response (which the function sends), never
  from a preflight's;
- ``consumes`` / ``produces``: a mock integration neither reads a body nor sends a model;
- the method response's ``schema`` (the ``Empty`` model): no model is validated or mapped for a mock.
"""
from __future__ import annotations

from typing import Any

EXPOSE_HEADERS = "Access-Control-Expose-Headers"


def compact_preflights(definition: dict[str, Any]) -> int:
    """Trim every ``OPTIONS`` mock of an OpenAPI (swagger 2) `definition` in place; returns how many it trimmed."""
    trimmed = 0
    for methods in definition.get("paths", {}).values():
        options = methods.get("options")
        integration = (options or {}).get("x-amazon-apigateway-integration", {})
        if integration.get("type") != "mock":
            continue
        options.pop("consumes", None)
        options.pop("produces", None)
        for response in options.get("responses", {}).values():
            response.pop("schema", None)
            response.get("headers", {}).pop(EXPOSE_HEADERS, None)
        for response in integration.get("responses", {}).values():
            response.get("responseParameters", {}).pop(f"method.response.header.{EXPOSE_HEADERS}", None)
        trimmed += 1
    return trimmed


def compact_sam_preflights(sam: dict[str, Any]) -> int:
    """`compact_preflights` on every ``AWS::Serverless::Api`` definition body of a SAM template."""
    return sum(compact_preflights(resource["Properties"]["DefinitionBody"]) for resource in sam.get("Resources", {}).values()
               if resource.get("Type") == "AWS::Serverless::Api" and "DefinitionBody" in resource.get("Properties", {}))
