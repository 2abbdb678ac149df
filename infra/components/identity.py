"""Cognito: the staff and portal user pools and the app's client for each."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito

from chalicelib.core import passwords
from infra.components.nag import acknowledge
from infra.components.naming import Stage
from infra.components.signin import SignInConfig, platform_admins_group


def user_pool(stage: Stage, kind: str, *, staff: bool) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
    """A Cognito user pool (``Staff`` or ``Portal``) and the app's client for it.

    Logins are created by the API (``AdminCreateUser`` with username
    ``<tenant>.<user id>``); ``custom:tenant_id`` is set then and can never change,
    and the app client may read it but not write it, so ID tokens carry a tenant the
    user cannot alter. Platform operators are the staff pool's ``platform-admins`` group
    (infra/components/signin.py), never an attribute.
    """
    custom_attributes: dict[str, cognito.ICustomAttribute] = {
        "tenant_id": cognito.StringAttribute(min_len=1, max_len=64, mutable=False),
    }
    # Kept only because Cognito cannot remove a schema attribute from an existing pool: deployed staff
    # pools were created with `custom:platform_admin`, and a template without it fails their update.
    # Nothing reads it (operators are the `platform-admins` group) and the app client may neither read
    # nor write it; README "Sign-in and MFA" has the one-off move of its holders into the group.
    retired_attributes: dict[str, cognito.ICustomAttribute] = {
        "platform_admin": cognito.StringAttribute(min_len=4, max_len=5, mutable=True),
    } if staff else {}
    plan = SignInConfig.of(stage) if staff else SignInConfig()

    pool = cognito.UserPool(
        stage.stack,
        f"{kind}UserPool",
        user_pool_name=f"{stage.prefix}-{kind.lower()}",
        self_sign_up_enabled=False,
        sign_in_aliases=cognito.SignInAliases(username=True),
        sign_in_case_sensitive=False,
        standard_attributes=cognito.StandardAttributes(
            phone_number=cognito.StandardAttribute(required=False, mutable=True),
            fullname=cognito.StandardAttribute(required=False, mutable=True),
        ),
        custom_attributes={**custom_attributes, **retired_attributes},
        mfa=cognito.Mfa.OPTIONAL,
        mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
        password_policy=cognito.PasswordPolicy(
            min_length=passwords.MIN_LENGTH,
            require_lowercase=True,
            require_uppercase=True,
            require_digits=True,
            require_symbols=True,
            temp_password_validity=cdk.Duration.days(3),
        ),
        account_recovery=cognito.AccountRecovery.NONE,
        **plan.pool_kwargs(),
        deletion_protection=stage.is_production,
        removal_policy=stage.removal_policy,
    )
    acknowledge(pool, "AwsSolutions-COG2",
                "The pool's MFA is OPTIONAL with TOTP only so that each tenant chooses: for tenants that require it "
                "(the default) the API refuses every request of a user without an enabled authenticator "
                "(chalicelib/signin, MFA_SETUP_REQUIRED); a user with one is asked for its code at every sign-in.")
    if plan.threat_protection != "enforced":
        acknowledge(pool, "AwsSolutions-COG8",
                    f"Threat protection is decided per stage (infra/components/signin.py): this stage uses the "
                    f"{plan.feature_plan} plan with threat protection {plan.threat_protection}; production uses Plus "
                    f"with threat protection enforced." if staff else
                    "Portal users (customers' and partners' contacts) read only their own records: Essentials plan, "
                    "no threat protection; staff pools use Plus with threat protection enforced in production.")
    if staff:
        platform_admins_group(pool)

    readable = cognito.ClientAttributes().with_standard_attributes(
        fullname=True, phone_number=True, phone_number_verified=True,
    ).with_custom_attributes(*custom_attributes)
    writable = cognito.ClientAttributes().with_standard_attributes(fullname=True, phone_number=True)
    client = pool.add_client(
        f"{kind}AppClient",
        user_pool_client_name=f"{stage.prefix}-{kind.lower()}-app",
        generate_secret=False,
        auth_flows=cognito.AuthFlow(user_srp=True, admin_user_password=True),
        disable_o_auth=True,
        prevent_user_existence_errors=True,
        enable_token_revocation=True,
        id_token_validity=cdk.Duration.hours(1),
        access_token_validity=cdk.Duration.hours(1),
        refresh_token_validity=cdk.Duration.days(30),
        read_attributes=readable,
        write_attributes=writable,
    )
    return pool, client


class Identity:
    """Staff (``crm-<stage>-staff``, with the ``platform-admins`` group) and portal (``crm-<stage>-portal``) logins."""

    provider = "cognito"

    def __init__(self, stage: Stage) -> None:
        self.staff_pool, self.staff_client = user_pool(stage, "Staff", staff=True)
        self.portal_pool, self.portal_client = user_pool(stage, "Portal", staff=False)

    def environment(self) -> dict[str, str]:
        """The settings the API verifies tokens with (and manages logins in the staff pool with)."""
        return {
            "CRM_IDENTITY_PROVIDER": self.provider,
            "CRM_COGNITO_USER_POOL_ID": self.staff_pool.user_pool_id,
            "CRM_COGNITO_CLIENT_ID": self.staff_client.user_pool_client_id,
            "CRM_JWT_ISSUER": f"https://{self.staff_pool.user_pool_provider_url}",
            "CRM_JWT_AUDIENCE": self.staff_client.user_pool_client_id,
        }

    def outputs(self) -> dict[str, str]:
        return {
            "StaffUserPoolId": self.staff_pool.user_pool_id,
            "StaffAppClientId": self.staff_client.user_pool_client_id,
            "PortalUserPoolId": self.portal_pool.user_pool_id,
            "PortalAppClientId": self.portal_client.user_pool_client_id,
        }
