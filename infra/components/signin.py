"""Sign-in hardening of the staff user pool (issue 15, point 5): the feature plan and threat
protection per stage, and the group whose members are platform operators.

Threat protection (Cognito's "advanced security": compromised-credential checks, adaptive
authentication that blocks or asks for MFA on a risky sign-in, user-activity logs) needs the
Plus feature plan. Decided per stage:

- prod: Plus, standard threat protection ENFORCED (``FULL_FUNCTION``). List price (2025):
  US$0.02 per monthly active user, no free tier — 20,000 staff MAU cost about US$400 a month
  (Essentials would be about US$150: 10,000 MAU free, then US$0.015).
- every other stage: Essentials, no threat protection (free up to 10,000 MAU).

Override per stage with the context keys (or ``CRM_INFRA_<KEY>``) ``cognito_feature_plan``
(``essentials`` | ``plus``) and ``cognito_threat_protection`` (``off`` | ``audit`` | ``enforced``;
``audit`` and ``enforced`` need ``plus``). The portal pool (customers' and partners' users, who
only read their own records) stays on Essentials.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cognito as cognito

from chalicelib.core.auth import PLATFORM_GROUP
from infra.components.naming import Stage
from infra.components.operations import _setting

FEATURE_PLANS = {"essentials": cognito.FeaturePlan.ESSENTIALS, "plus": cognito.FeaturePlan.PLUS}
THREAT_PROTECTION = {"audit": cognito.StandardThreatProtectionMode.AUDIT_ONLY,
                     "enforced": cognito.StandardThreatProtectionMode.FULL_FUNCTION}


@dataclass(frozen=True)
class SignInConfig:
    feature_plan: str = "essentials"
    threat_protection: str = "off"

    @classmethod
    def of(cls, stage: Stage) -> SignInConfig:
        production = stage.is_production
        config = cls(feature_plan=_setting(stage, "cognito_feature_plan", "plus" if production else "essentials").lower(),
                     threat_protection=_setting(stage, "cognito_threat_protection", "enforced" if production else "off").lower())
        if config.feature_plan not in FEATURE_PLANS:
            raise ValueError(f"cognito_feature_plan must be one of {sorted(FEATURE_PLANS)}, not {config.feature_plan!r}")
        if config.threat_protection not in ("off", *THREAT_PROTECTION):
            raise ValueError(f"cognito_threat_protection must be off, audit or enforced, not {config.threat_protection!r}")
        if config.threat_protection != "off" and config.feature_plan != "plus":
            raise ValueError("cognito_threat_protection needs cognito_feature_plan=plus")
        return config

    def pool_kwargs(self) -> dict:
        """The UserPool properties of the staff pool."""
        kwargs: dict = {"feature_plan": FEATURE_PLANS[self.feature_plan]}
        if self.threat_protection != "off":
            kwargs["standard_threat_protection_mode"] = THREAT_PROTECTION[self.threat_protection]
        return kwargs


def platform_admins_group(pool: cognito.UserPool) -> cognito.CfnUserPoolGroup:
    """``platform-admins``: its members' ID tokens carry it in ``cognito:groups`` (chalicelib/core/auth.py).
    Members are added by people with console or CLI access (AdminAddUserToGroup); the API's role may not."""
    return cognito.CfnUserPoolGroup(pool, "PlatformAdmins", user_pool_id=pool.user_pool_id, group_name=PLATFORM_GROUP,
                                    description="Platform operators: create tenants, restore backups (never tenant data)")
