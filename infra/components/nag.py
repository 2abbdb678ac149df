"""cdk-nag acknowledgements: every finding the stack accepts, with its reason, where it arises."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from constructs import Construct

_AWS_LAMBDA_BASIC_EXECUTION = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)


def acknowledge(construct: Construct, rule_id: str, reason: str, findings: Sequence[str] = ()) -> None:
    """Acknowledge a cdk-nag finding, with its reason, on a construct and its children.

    Rules that report several findings per resource (IAM5) are acknowledged per finding,
    ``Rule[Finding]``; the others by rule id alone.
    """
    ids = [f"{rule_id}[{finding}]" for finding in findings] or [rule_id]
    cdk.Validations.of(construct).acknowledge(*(cdk.Acknowledgment(id=i, reason=reason) for i in ids))


def acknowledge_basic_execution(construct: Construct) -> None:
    acknowledge(construct, "AwsSolutions-IAM4",
                "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.",
                [_AWS_LAMBDA_BASIC_EXECUTION])


def flatten_reference(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag spells it in finding ids.

    ``{"Fn::GetAtt": ["Bucket", "Arn"]}`` -> ``<Bucket.Arn>``, ``{"Ref": "X"}`` -> ``<X>``,
    ``Fn::Join`` concatenated, ``${…}`` in strings -> ``<…>``.
    """
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return delimiter.join(flatten_reference(item) for item in items)
        if "Fn::Sub" in value:
            return flatten_reference(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Ref" in value:
            return f"<{flatten_reference(value['Ref'])}>"
        if "Fn::GetStackOutput" in value:  # a reference to another stack of the app, as cdk-nag prints it
            return json.dumps(value, separators=(",", ":"))
    return json.dumps(value)


def resource_finding(scope: Construct, arn: str) -> str:
    """The cdk-nag ``Resource::…`` finding id of a policy resource built from ``arn``."""
    stack = cdk.Stack.of(scope)
    return f"Resource::{flatten_reference(_cross_stack(stack, stack.resolve(arn)))}"


def _cross_stack(stack: cdk.Stack, value: Any) -> Any:
    """`value` (resolved in `stack`) with its references to resources of the app's other stacks written as the
    CDK writes them into `stack`'s template: weak references (``Fn::GetStackOutput`` of an output named
    ``PublishOutput<unique id>``, the ``@aws-cdk/core:defaultCrossStackReferences`` setting of infra/cdk.json)."""
    if isinstance(value, list):
        return [_cross_stack(stack, item) for item in value]
    if not isinstance(value, dict):
        return value
    target = value.get("Ref") if isinstance(value.get("Ref"), str) else (value.get("Fn::GetAtt") or [None])[0]
    owner = _owner(stack, target) if isinstance(target, str) and not target.startswith("AWS::") else None
    if owner is None:
        return {key: _cross_stack(stack, item) for key, item in value.items()}
    from infra.components.naming import weak_reference

    return weak_reference(owner.stack_name, value, stack.resolve(owner.region))


def _owner(stack: cdk.Stack, logical_id: str) -> cdk.Stack | None:
    """The other stack of the app that has a resource `logical_id` (None: `stack`'s own, or none)."""
    for other in stack.node.root.node.children:
        if isinstance(other, cdk.Stack) and other is not stack and logical_id in _logical_ids(other):
            return other
    return None


_LOGICAL_IDS: dict[str, frozenset[str]] = {}


def _logical_ids(stack: cdk.Stack) -> frozenset[str]:
    key = f"{id(stack)}:{len(stack.node.find_all())}"
    if key not in _LOGICAL_IDS:
        _LOGICAL_IDS[key] = frozenset(stack.resolve(node.logical_id) for node in stack.node.find_all()
                                      if isinstance(node, cdk.CfnElement))
    return _LOGICAL_IDS[key]
