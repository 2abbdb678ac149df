"""One stage's names, ARNs and stage-dependent settings.

Resource names are fixed (``crm-<stage>``, ``crm-<stage>-<function>``, …), so their ARNs can be
built before the resources exist, and without making one resource depend on another.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs


def weak_output_name(value: Any) -> str:
    """The output a CDK app publishes for another stack's weak reference to `value` (``{"Ref": id}``,
    ``{"Fn::GetAtt": [id, attribute]}``): ``PublishOutput`` + the value's characters + a hash, as the CDK names it
    (``@aws-cdk/core:defaultCrossStackReferences`` = ``weak`` in infra/cdk.json)."""
    output = "Output" + json.dumps(value, separators=(",", ":"))
    digest = hashlib.md5(f"Publish/{output}".encode()).hexdigest()[:8].upper()
    return "Publish" + re.sub(r"[^A-Za-z0-9]", "", output) + digest


def weak_reference(stack_name: str, value: Any, region: Any = None) -> dict[str, Any]:
    """How a stack reads `value` of the stack `stack_name` (same region): ``Fn::GetStackOutput``. `region` is the
    stack's region as its template writes it: ``{"Ref": "AWS::Region"}`` (the default) for a stack synthesized
    without one, the name when the app is given one (``CDK_DEFAULT_REGION``, which the CDK CLI sets)."""
    return {"Fn::GetStackOutput": {"StackName": stack_name, "Region": region or {"Ref": "AWS::Region"},
                                   "OutputName": weak_output_name(value)}}


def pascal(name: str) -> str:
    """``audit_archiver`` -> ``AuditArchiver`` (construct ids)."""
    return "".join(part.capitalize() for part in re.split(r"[_\-\s]+", name) if part)


class Stage:
    """A stage (``dev``, ``prod``, …) of the CRM, in the stack that deploys it."""

    def __init__(self, stack: cdk.Stack, name: str) -> None:
        self.stack = stack
        self.name = name
        self.is_production = name == "prod"
        self.prefix = f"crm-{name}"
        self.removal_policy = cdk.RemovalPolicy.RETAIN if self.is_production else cdk.RemovalPolicy.DESTROY
        self.log_retention = logs.RetentionDays.ONE_YEAR if self.is_production else logs.RetentionDays.ONE_MONTH

    def function_name(self, name: str) -> str:
        return f"{self.prefix}-{name.replace('_', '-')}"

    def function_arn(self, name: str) -> str:
        """A function's ARN from its (fixed) name, usable before the function exists."""
        return self.stack.format_arn(
            service="lambda",
            resource="function",
            resource_name=self.function_name(name),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def schedules_arn(self) -> str:
        """Every schedule in the stage's schedule group (named ``crm-<stage>``)."""
        return self.stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.prefix}/*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    def state_machine_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def state_machine_arn(self, name: str) -> str:
        """A state machine's ARN from its (fixed) name, usable before the machine exists."""
        return self.stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name(name),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def executions_arn(self, name: str) -> str:
        """Every execution of a state machine."""
        return self.stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.state_machine_name(name)}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def search_domain_arn(self, path: str = "") -> str:
        """The search domain's ARN (``…:domain/crm-<stage>``, plus ``/path``) from its fixed name.

        Built from the name rather than read from the domain: the domain's own access policy
        and the API's managed policy (which the API role, a principal of that access policy,
        attaches) would otherwise depend on the domain they are part of.
        """
        return self.stack.format_arn(
            service="es",
            resource="domain",
            resource_name=f"{self.prefix}/{path}" if path else self.prefix,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    def search_role_name(self, kind: str) -> str:
        """An OpenSearch security role of the stage (``crm-<stage>-search-writer``, ``…-reader``)."""
        return f"{self.prefix}-search-{kind}"
