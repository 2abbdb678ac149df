"""The product's own identity provider (``identity=builtin``): no user pool; the API signs users in
(``POST /v1/auth/login``) and signs their tokens with an asymmetric KMS key.

- One KMS key per generation (``RSA_2048``, ``SIGN_VERIFY``: RS256 tokens), alias
  ``alias/crm-<stage>/token-signing-<generation>``. Context ``token_key_generations`` lists the live
  generations, the signing one first (default ``1``). To rotate: deploy with ``2,1`` (key 2 is created
  and signs; key 1 still verifies), wait at least a token lifetime (``CRM_TOKEN_TTL_SECONDS``), deploy
  with ``2`` (key 1 is scheduled for deletion; in prod it is retained and can be disabled by hand).
- The API may ``kms:Sign`` with the signing key only and ``kms:GetPublicKey`` of the live keys; no other
  principal may use them. Verification is in the API, from the public keys (read once per container).
- ``CRM_TOKEN_SIGNING_KEYS`` is the keys' ARNs in that order; the issuer is context ``public_api_url``
  (the API's public URL) when given, else ``urn:crm:<stage>``.
- The key of the users' TOTP seeds (components/seed_key.py) comes with it: only this provider stores seeds.
"""
from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from infra.components.nag import acknowledge
from infra.components.naming import Stage
from infra.components.seed_key import MfaSeedKey

#: Token lifetime of the own IdP (seconds): sign-out everywhere is immediate (checked per request) whatever it is.
TOKEN_TTL_SECONDS = 3600
AUDIENCE = "crm-web"


def key_generations(value: object) -> list[str]:
    """Context ``token_key_generations`` (``"2,1"``) -> ``["2", "1"]``: short names, no repeats, at least one."""
    text = str(value or "1")
    generations = [g.strip() for g in text.split(",") if g.strip()]
    if not generations or len(set(generations)) != len(generations) or not all(
            re.fullmatch(r"[a-z0-9]{1,8}", g) for g in generations):
        raise ValueError(f"token_key_generations must list distinct short names (e.g. 2,1), not {text!r}")
    return generations


class BuiltinIdentity:
    """The token signing keys of a stage using the product's own identity provider."""

    provider = "builtin"

    def __init__(self, stage: Stage) -> None:
        scope = stage.stack
        self.stage = stage
        self.generations = key_generations(scope.node.try_get_context("token_key_generations"))
        self.keys = []
        for generation in self.generations:
            key = kms.Key(scope, f"TokenSigningKey{generation.capitalize()}",
                          description=f"{stage.prefix}: signs the API's sign-in tokens (generation {generation})",
                          key_spec=kms.KeySpec.RSA_2048, key_usage=kms.KeyUsage.SIGN_VERIFY,
                          alias=f"{stage.prefix}/token-signing-{generation}", removal_policy=stage.removal_policy,
                          pending_window=cdk.Duration.days(30 if stage.is_production else 7))
            acknowledge(key, "AwsSolutions-KMS5", "Asymmetric KMS keys cannot rotate automatically: the signing key is "
                        "rotated by generations (context token_key_generations), old and new verifying side by side.")
            self.keys.append(key)
        self.issuer = str(scope.node.try_get_context("public_api_url") or "").strip().rstrip("/") or f"urn:crm:{stage.name}"
        self.seed_key = MfaSeedKey(stage)  # TOTP seeds at rest (envelope encryption)

    @property
    def signing_key(self) -> kms.Key:
        return self.keys[0]

    def environment(self) -> dict[str, str]:
        return {
            "CRM_IDENTITY_PROVIDER": self.provider,
            "CRM_TOKEN_SIGNING_KEYS": ",".join(key.key_arn for key in self.keys),
            "CRM_TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS),
            "CRM_JWT_ISSUER": self.issuer,
            "CRM_JWT_AUDIENCE": AUDIENCE,
            **self.seed_key.environment(),
        }

    def api_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(actions=["kms:Sign"], resources=[self.signing_key.key_arn]),
            iam.PolicyStatement(actions=["kms:GetPublicKey"], resources=[key.key_arn for key in self.keys]),
            *self.seed_key.api_statements(),
        ]

    def outputs(self) -> dict[str, str]:
        return {"TokenSigningKeyArn": self.signing_key.key_arn}
