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
    return json.dumps(value)


def resource_finding(scope: Construct, arn: str) -> str:
    """The cdk-nag ``Resource::…`` finding id of a policy resource built from ``arn``."""
    return f"Resource::{flatten_reference(cdk.Stack.of(scope).resolve(arn))}"
