"""The key that encrypts TOTP seeds at rest (``chalicelib/ports/envelope.py``), for the product's own
identity provider: with Cognito the pool keeps its users' authenticators and the API stores none.

- One symmetric KMS key (``SYMMETRIC_DEFAULT``, yearly automatic rotation: old material still decrypts),
  alias ``alias/crm-<stage>/mfa-seeds``, kept when removed in prod like the table it protects.
- The API may ``kms:GenerateDataKey`` (a data key per seed: how a seed is encrypted) and ``kms:Decrypt``
  with this key only, and only with the encryption context ``purpose=mfa-seed``; no other role of the
  stack gets either.
- ``CRM_MFA_SEED_KEY`` is its ARN.
"""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from infra.components.naming import Stage

#: What the API does with the key, and the encryption context it always gives (chalicelib/signin/service.py).
SEED_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
SEED_PURPOSE = "mfa-seed"


class MfaSeedKey:
    def __init__(self, stage: Stage) -> None:
        self.key = kms.Key(stage.stack, "MfaSeedKey", description=f"{stage.prefix}: encrypts the TOTP seeds of second factors",
                           enable_key_rotation=True, alias=f"{stage.prefix}/mfa-seeds", removal_policy=stage.removal_policy,
                           pending_window=cdk.Duration.days(30 if stage.is_production else 7))

    def environment(self) -> dict[str, str]:
        return {"CRM_MFA_SEED_KEY": self.key.key_arn}

    def api_statements(self) -> list[iam.PolicyStatement]:
        return [iam.PolicyStatement(actions=list(SEED_KEY_ACTIONS), resources=[self.key.key_arn],
                                    conditions={"StringEquals": {"kms:EncryptionContext:purpose": SEED_PURPOSE}})]
