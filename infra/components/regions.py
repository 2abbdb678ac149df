"""What the target region offers: the one place that decides which optional parts a stage gets.

The template stays region-agnostic in its ARNs (``AWS::Partition``, ``AWS::Region``); but some services
or features do not exist everywhere, and a template naming them fails to deploy (cfn-lint reports the
missing resource types, E3006). The China regions (``cn-north-1``, ``cn-northwest-1``, partition
``aws-cn``) lack, as of this writing:

- Cognito user pools -> the product's own identity provider (``identity=builtin``: sign-in by the API,
  tokens signed with a KMS key, ``components/token_keys.py``);
- SES (sending and receiving; also missing in ap-east-1, Hong Kong) -> no mail resources; the API
  answers 503 MAIL_DISABLED to sends;
- Lambda SnapStart for Python -> the API function is published under its alias without a snapshot;
- X-Ray integration with Lambda functions -> no active tracing on functions (API Gateway and Step
  Functions still trace).

Everything else the stack uses (WAFv2, AWS Backup, EventBridge Scheduler and archives, OpenSearch Service,
KMS asymmetric keys, CodeDeploy, Lambda on arm64 with Python 3.12) is built there as elsewhere: cfn-lint's
schemas for the China regions know every resource type and property of the template; that each feature
behaves there as elsewhere can only be checked with a China account.

The region is the one synthesis runs for: context ``region``, else ``CDK_DEFAULT_REGION`` (the CDK CLI),
else ``AWS_DEFAULT_REGION``. Context ``identity`` (``cognito`` | ``builtin``) and ``mail`` (``on`` |
``off``) choose where there is a choice; asking for what the region lacks fails synthesis.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from constructs import Construct

from chalicelib.core.partition import partition

#: Region used when none is configured (infra/app.py packages for it too).
FALLBACK_REGION = "ap-southeast-1"
COGNITO = "cognito"
BUILTIN = "builtin"
IDENTITY_PROVIDERS = (COGNITO, BUILTIN)
#: Commercial regions without SES (besides the China regions): Hong Kong.
REGIONS_WITHOUT_SES = frozenset({"ap-east-1"})


def is_china(region: str) -> bool:
    return partition(region) == "aws-cn"


def has_ses(region: str) -> bool:
    return not is_china(region) and region not in REGIONS_WITHOUT_SES


def default_identity_provider(region: str) -> str:
    """Cognito where the region has user pools, else the product's own IdP."""
    return BUILTIN if is_china(region) else COGNITO


def identity_provider(region: str, requested: str | None = None) -> str:
    """The identity provider of a stage in `region`: `requested` (context ``identity``) when given and
    possible there, else the region's default."""
    choice = (requested or "").strip().lower() or default_identity_provider(region)
    if choice not in IDENTITY_PROVIDERS:
        raise ValueError(f"identity must be one of {', '.join(IDENTITY_PROVIDERS)}, not {requested!r}")
    if choice == COGNITO and is_china(region):
        raise ValueError(f"Cognito user pools are not available in {region}: use identity=builtin")
    return choice


def _switch(value: str | None, default: bool, name: str) -> bool:
    text = (value or "").strip().lower()
    if not text:
        return default
    if text in ("on", "true", "1", "yes"):
        return True
    if text in ("off", "false", "0", "no"):
        return False
    raise ValueError(f"{name} must be on or off, not {value!r}")


@dataclass(frozen=True)
class RegionProfile:
    region: str
    partition: str
    identity: str  # cognito | builtin
    mail: bool  # SES identity, receipt rules, sending permissions; CRM_MAIL_ENABLED
    snapstart: bool  # SnapStart on the API function
    lambda_xray: bool  # active X-Ray tracing of the Lambda functions

    @property
    def cognito(self) -> bool:
        return self.identity == COGNITO


def profile_for(region: str, *, identity: str | None = None, mail: str | None = None) -> RegionProfile:
    """The profile of `region` with the given choices (context values, or None for the region's defaults)."""
    china = is_china(region)
    wants_mail = _switch(mail, has_ses(region), "mail")
    if wants_mail and not has_ses(region):
        raise ValueError(f"SES is not available in {region}: use mail=off")
    return RegionProfile(region=region, partition=partition(region), identity=identity_provider(region, identity),
                         mail=wants_mail, snapstart=not china, lambda_xray=not china)


def target_region(scope: Construct) -> str:
    context = scope.node.try_get_context("region")
    return str(context or os.environ.get("CDK_DEFAULT_REGION") or os.environ.get("AWS_DEFAULT_REGION")
               or FALLBACK_REGION).strip()


def region_profile(scope: Construct) -> RegionProfile:
    """The profile of the stack `scope` belongs to (decided once per stack, from its context)."""
    from aws_cdk import Stack

    stack = Stack.of(scope)
    found = getattr(stack, "_crm_region_profile", None)
    if found is None:
        found = profile_for(target_region(stack), identity=stack.node.try_get_context("identity"),
                            mail=stack.node.try_get_context("mail"))
        stack._crm_region_profile = found  # type: ignore[attr-defined]
    return found
