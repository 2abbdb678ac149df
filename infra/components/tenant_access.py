"""Tenant isolation in IAM: the tenant data role (``crm-<stage>-tenant-data``) the API assumes per tenant.

The API assumes it with the session tag ``tenant=<id>`` (chalicelib/db/credentials.py) and then
may touch only items whose every partition key in the call starts with ``T#<id>#``: the item-level
actions of the application, conditioned on ``dynamodb:LeadingKeys`` (for a Query on an index,
DynamoDB evaluates the index's partition key: every gsi key starts with the tenant, except the
platform's ``PLATFORM#…`` keys, which only platform routes read, with the function's role). No Scan is
granted: a Scan carries no leading key, and ``ForAllValues`` would let an empty set through.
Files: the tenant's own prefixes of the files bucket (``tenants/<id>/…``, ``pending/tenants/<id>/…``).

The trust policy admits only the API's role, only with a ``tenant`` tag and no other tag.
"""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from infra.components.nag import acknowledge, resource_finding
from infra.components.naming import Stage
from infra.components.storage import Storage
from infra.components.table import TABLE_ITEM_ACTIONS, Table

#: The session tag the API sets (chalicelib/db/credentials.py TENANT_TAG) and the policy reads.
TENANT_TAG = "tenant"
#: Every partition key of a call must match it (``ForAllValues:StringLike``).
TENANT_LEADING_KEYS = f"T#${{aws:PrincipalTag/{TENANT_TAG}}}#*"
#: Role chaining (a Lambda role assuming a role) caps a session at one hour.
MAX_SESSION = cdk.Duration.hours(1)


def role_name(stage: Stage) -> str:
    return f"{stage.prefix}-tenant-data"


def role_arn(stage: Stage) -> str:
    """The role's ARN from its fixed name: the API's environment names it before the role exists."""
    return stage.stack.format_arn(service="iam", region="", resource="role", resource_name=role_name(stage),
                                  arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME)


def api_environment(stage: Stage) -> dict[str, str]:
    """What the API reads (``CRM_TENANT_ROLE_ARN``): set, its data access runs on tenant credentials."""
    return {"CRM_TENANT_ROLE_ARN": role_arn(stage)}


def tenant_prefixed(arn: str) -> str:
    """An object ARN of the API's (``…/tenants/*/files/*``) narrowed to the session's tenant."""
    tenant = f"tenants/${{aws:PrincipalTag/{TENANT_TAG}}}"
    if arn.endswith("tenants/*"):  # pending/tenants/*: every object under the tenant's folder
        return arn[: -len("tenants/*")] + tenant + "/*"
    return arn.replace("tenants/*/", tenant + "/", 1)


class TenantAccess:
    """The tenant data role, trusted by `api_role`, which gets AssumeRole + TagSession on it."""

    def __init__(self, stage: Stage, *, table: Table, storage: Storage, api_role: iam.IRole) -> None:
        scope = stage.stack
        statements = [
            iam.PolicyStatement(
                sid="TenantItems", actions=list(TABLE_ITEM_ACTIONS), resources=table.resources(),
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [TENANT_LEADING_KEYS]}}),
        ]
        for n, statement in enumerate(storage.files_statements(), 1):
            statements.append(iam.PolicyStatement(sid=f"TenantFiles{n}", actions=statement.actions,
                                                  resources=[tenant_prefixed(arn) for arn in statement.resources]))
        self.role = iam.Role(
            scope, "TenantDataRole", role_name=role_name(stage), max_session_duration=MAX_SESSION,
            description=f"What one tenant's API requests may touch ({stage.prefix}): assumed with the session tag tenant=<id>",
            assumed_by=iam.ArnPrincipal(api_role.role_arn).with_session_tags().with_conditions({
                "StringLike": {f"aws:RequestTag/{TENANT_TAG}": "?*"},
                "ForAllValues:StringEquals": {"aws:TagKeys": [TENANT_TAG]},
            }),
            inline_policies={"TenantData": iam.PolicyDocument(statements=statements)},
        )
        acknowledge(self.role, "AwsSolutions-IAM5",
                    "Uploaded, imported and exported files are objects keyed by file, import or job id at run time: "
                    "scoped to the session tenant's own prefixes of the files bucket (tenants/<tenant>/…).",
                    [resource_finding(scope, r) for s in statements[1:] for r in s.resources])
        api_role.add_to_principal_policy(iam.PolicyStatement(
            sid="AssumeTenantDataRole", actions=["sts:AssumeRole", "sts:TagSession"], resources=[self.role.role_arn]))
