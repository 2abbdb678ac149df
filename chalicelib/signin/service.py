"""Sign-in security (PLAT-11): the tenant's second-factor policy, TOTP enrolment and sign-in
with a code (local identity provider), an administrator's reset of a user's factor, and the
request-time check that holds the policy for Cognito's tokens.

Local identity provider: a right password (org.login) goes on here. A user with an active
authenticator gets a `MFA_CODE` challenge; one without, in a tenant that requires MFA, gets a
`MFA_SETUP` challenge; otherwise the id token. A challenge is an opaque session (5 minutes)
that only the routes of its step accept, so a password alone never yields an id token.
Codes: RFC 6238 (totp.py), ±1 step, each accepted at most once (SecondFactor.last_step);
every code attempt spends the mobile number's sign-in rate limit and a wrong code counts
toward its lock-out, as a wrong password does (org.sign_in_guard / sign_in_failed).
A token says how it was earned (`amr`: `pwd`, plus `otp` after a code). While the tenant requires
MFA, a request with a token without `otp` (one issued before the administrators turned MFA on)
is refused with 401 MFA_REQUIRED: sign in again. The check reads only the token and the cached
policy (no read per request). Enrolling an authenticator with a bearer token (/me/mfa/setup…)
needs the current password, checked like a sign-in (rate limit, lock-out): a stolen token alone
cannot bind the thief's authenticator. Seeds are stored encrypted (ports/envelope.py).

Cognito: the pool's MFA is OPTIONAL with TOTP only. A user who has enabled TOTP is asked for
a code on every sign-in by Cognito itself; enrolment is the client's AssociateSoftwareToken +
VerifySoftwareToken + SetUserMFAPreference with the user's access token. The ID token does
not say whether a second factor was used, so for a tenant that requires MFA the API checks on
each request that the user's account has SOFTWARE_TOKEN_MFA enabled (AdminGetUser, a positive
answer cached per container for CRM_AUTHZ_CACHE_SECONDS) and refuses with 403
MFA_SETUP_REQUIRED otherwise. Platform operators (the pool's platform-admins group) are held to
the same check always, whatever any tenant's policy.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from ..core import auth, clock, context
from ..core.cache import TenantCache
from ..core.errors import Conflict, Forbidden, Unauthenticated
from ..core.observability import logger, metric
from ..core.settings import get_settings
from ..db import audit, changes, keys, tx
from ..org import service as org
from ..ports import envelope, identity
from . import totp
from .models import SecondFactor, SignInPolicy, SignInSession

MODULE = "signin"
SESSION_SECONDS = 300
MAX_CODE_FAILURES = 5  # wrong codes one challenge takes before the password must be given again
CHALLENGE_CODE, CHALLENGE_SETUP = "MFA_CODE", "MFA_SETUP"


# ---- policy ------------------------------------------------------------------------------------

def _load_policy(tenant_id: str) -> SignInPolicy | None:
    try:
        return SignInPolicy.get(*SignInPolicy.key(tenant_id))
    except SignInPolicy.DoesNotExist:
        return None


# an authorization decision (every request of a password-only token asks): as fresh as the org snapshot
_policies: TenantCache[SignInPolicy | None] = TenantCache(_load_policy, lambda: get_settings().authz_cache_seconds)


def mfa_required(tenant_id: str) -> bool:
    """Whether the tenant's staff must sign in with a second factor: the administrators' choice,
    else CRM_MFA_DEFAULT (required unless the stage says otherwise)."""
    p = _policies.get(tenant_id)
    return bool(p.mfa_required) if p is not None else get_settings().mfa_default == "required"


def policy_out(tenant_id: str, p: SignInPolicy | None) -> dict[str, Any]:
    return {"mfa_required": mfa_required(tenant_id), "chosen": p is not None, "default_mfa_required": get_settings().mfa_default == "required",
            "version": int(p.version) if p is not None else 0}


def get_policy() -> dict[str, Any]:
    tenant = context.current().tenant_id
    org.principal().require(MODULE, "read")
    return policy_out(tenant, _policies.get(tenant, fresh=True))


def set_policy(required: bool, expected: int | None) -> dict[str, Any]:
    """An administrator's choice for the tenant (operation log: sign_in_policy)."""
    ctx = context.current()
    org.principal().require(MODULE, "manage")
    tenant, actor = ctx.tenant_id, ctx.user_id
    p = _policies.get(tenant, fresh=True)
    if p is None:
        if expected not in (None, 0):
            raise Conflict(details={"current_version": 0, "your_version": expected})
        p = SignInPolicy(*SignInPolicy.key(tenant), tenant_id=tenant, mfa_required=required)
        changes.stamp(p, actor, new=True)
        changes.create(p, "sign_in_policy", tenant, actor)
    else:
        changes.save(p, "sign_in_policy", tenant, actor, {"mfa_required": required}, expected)
    _policies.invalidate(tenant)
    metric("signin.policy.changed")
    return policy_out(tenant, _policies.get(tenant, fresh=True))


# ---- second factors (local identity provider) ----------------------------------------------------

def _load_factors(tenant_id: str) -> dict[str, SecondFactor]:
    return {f.user_id: f for f in SecondFactor.query(keys.k(tenant_id, "MFA"))}


_factors: TenantCache[dict[str, SecondFactor]] = TenantCache(_load_factors, lambda: get_settings().authz_cache_seconds)


def _factor(tenant_id: str, user_id: str) -> SecondFactor | None:
    try:
        return SecondFactor.get(*SecondFactor.key(tenant_id, user_id), consistent_read=True)
    except SecondFactor.DoesNotExist:
        return None


def _enrolled(tenant_id: str, user_id: str) -> bool:
    f = _factors.get(tenant_id).get(user_id)
    return f is not None and f.status == "active"


SEED_PURPOSE = "mfa-seed"


def _seed_context(tenant_id: str) -> dict[str, str]:
    return {"purpose": SEED_PURPOSE, "tenant_id": tenant_id}


def _sealed_values(tenant_id: str, user_id: str, secret: str) -> dict[str, str]:
    """A seed encrypted for storage (a data key of its own, bound to the tenant; the ciphertext to the user)."""
    s = envelope.seal(secret, _seed_context(tenant_id), f"{tenant_id}/{user_id}")
    return {"seed": s.ciphertext, "seed_key": s.data_key, "seed_key_id": s.key_id}


def _seed_of(f: SecondFactor) -> str:
    """The factor's base32 seed: decrypted, or as a factor from before encryption holds it."""
    if f.seed:
        return envelope.open_sealed(envelope.Sealed(f.seed, f.seed_key or "", f.seed_key_id or ""),
                                    _seed_context(f.tenant_id), f"{f.tenant_id}/{f.user_id}")
    return f.secret or ""


def _same_seed(f: SecondFactor):
    """The condition that the stored factor still has the seed `f` was read with."""
    return (SecondFactor.seed == f.seed) if f.seed else (SecondFactor.secret == (f.secret or ""))


def _encrypt_actions(f: SecondFactor, secret: str) -> list:
    """For a factor holding its seed in plaintext: the update actions that store it encrypted instead."""
    if f.seed or not f.secret:
        return []
    sealed = _sealed_values(f.tenant_id, f.user_id, secret)
    metric("signin.mfa.seed_encrypted")
    return [SecondFactor.seed.set(sealed["seed"]), SecondFactor.seed_key.set(sealed["seed_key"]),
            SecondFactor.seed_key_id.set(sealed["seed_key_id"]), SecondFactor.secret.remove()]


def encrypt_plaintext_seeds(tenant_id: str) -> int:
    """The one-off migration of a tenant's factors written before seeds were encrypted (a factor is also
    re-written when next used); how many were re-written."""
    done = 0
    for f in SecondFactor.query(keys.k(tenant_id, "MFA"), consistent_read=True):
        actions = _encrypt_actions(f, f.secret or "")
        if not actions:
            continue
        try:
            f.update(actions=actions, condition=SecondFactor.pk.exists() & _same_seed(f))
        except UpdateError:
            continue  # used (and so encrypted), reset or replaced meanwhile
        done += 1
    _factors.invalidate(tenant_id)
    return done


def _take_code(f: SecondFactor, code: str) -> bool:
    """Whether `code` is the factor's for now (±1 step) and not used before; taking it is atomic. An active
    factor with a plaintext seed is stored encrypted by the same write."""
    try:
        secret = _seed_of(f)
    except envelope.Unreadable:
        logger.error("a TOTP seed does not decrypt", extra={"tenant_id": f.tenant_id, "user_id": f.user_id})
        metric("signin.mfa.seed_unreadable")
        return False
    step = totp.matching_step(secret, code, clock.now().timestamp())
    if step is None or step <= int(f.last_step or 0):
        return False
    actions = [SecondFactor.last_step.set(step), *(_encrypt_actions(f, secret) if f.status == "active" else [])]
    try:
        f.update(actions=actions,  # never re-creates a factor a reset deleted meanwhile, nor takes a replaced seed's code
                 condition=SecondFactor.pk.exists() & _same_seed(f)
                 & (SecondFactor.last_step.does_not_exist() | (SecondFactor.last_step < step)))
    except UpdateError:
        return False  # another request took this code (or a later one) first
    return True


def _new_secret(tenant_id: str, user_id: str, mobile: str) -> dict[str, Any]:
    """A new pending authenticator (replacing a pending one); refused while one is active."""
    f = _factor(tenant_id, user_id)
    if f is not None and f.status == "active":
        raise Conflict("MFA_ALREADY_ENROLLED")
    secret = totp.new_secret()
    pk, sk = SecondFactor.key(tenant_id, user_id)
    SecondFactor(pk, sk, tenant_id=tenant_id, user_id=user_id, status="pending", last_step=0,
                 **_sealed_values(tenant_id, user_id, secret)).save()
    s = get_settings()
    account = f"{mobile}@{tenant_id}"
    return {"secret": secret, "otpauth_uri": totp.uri(secret, account, s.mfa_issuer), "account": account,
            "issuer": s.mfa_issuer, "digits": totp.DIGITS, "period": totp.STEP_SECONDS}


def _confirm(tenant_id: str, user_id: str, code: str) -> bool:
    f = _factor(tenant_id, user_id)
    if f is None or f.status != "pending" or not _take_code(f, code):
        return False
    actions = [SecondFactor.status.set("active"), SecondFactor.enrolled_at.set(clock.now_iso()),
               *_encrypt_actions(f, f.secret or "")]
    try:  # the factor as it was read: a reset (or a new secret) meanwhile makes the code no answer
        f.update(actions=actions, condition=SecondFactor.pk.exists() & (SecondFactor.status == "pending") & _same_seed(f))
    except UpdateError:
        return False
    tx.write([tx.put(audit.entry(tenant_id, "user", user_id, "mfa_enrolled", user_id, []))])
    _factors.invalidate(tenant_id)
    metric("signin.mfa.enrolled")
    return True


# ---- sign-in challenges (local identity provider) -------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def after_password(tenant_id: str, user_id: str, mobile: str, name: str) -> dict[str, Any]:
    """The answer to a right password: the id token, or the challenge the user must answer first."""
    if _factor_active(tenant_id, user_id):
        return _challenge(tenant_id, user_id, mobile, CHALLENGE_CODE)
    if mfa_required(tenant_id):
        return _challenge(tenant_id, user_id, mobile, CHALLENGE_SETUP)
    return org.sign_in_token(tenant_id, user_id, mobile, name)


def _factor_active(tenant_id: str, user_id: str) -> bool:
    f = _factor(tenant_id, user_id)
    return f is not None and f.status == "active"


def _challenge(tenant_id: str, user_id: str, mobile: str, kind: str) -> dict[str, Any]:
    token = secrets.token_urlsafe(32)
    pk, sk = SignInSession.key(tenant_id, _digest(token))
    SignInSession(pk, sk, tenant_id=tenant_id, user_id=user_id, mobile=mobile, failures=0,
                  purpose="verify" if kind == CHALLENGE_CODE else "setup",
                  expires_at=clock.now() + timedelta(seconds=SESSION_SECONDS)).save()
    metric("signin.challenge")
    return {"challenge": kind, "session": token, "expires_in": SESSION_SECONDS, "user_id": user_id, "tenant_id": tenant_id}


def _session(tenant_id: str, token: str, purpose: str) -> SignInSession:
    """The challenge a session token stands for; 401 MFA_SESSION_INVALID when unknown, expired or of another step."""
    try:
        sess = SignInSession.get(*SignInSession.key(tenant_id, _digest(token)), consistent_read=True)
    except (SignInSession.DoesNotExist, ValueError):
        sess = None
    if sess is None or sess.purpose != purpose or (sess.expires_at and sess.expires_at <= clock.now()):
        raise Unauthenticated("MFA_SESSION_INVALID")
    return sess


def _wrong_code(tenant_id: str, sess: SignInSession) -> Unauthenticated:
    org.sign_in_failed(tenant_id, sess.mobile)
    tx.write([tx.put(audit.entry(tenant_id, "session", sess.user_id, "mfa_failed", sess.user_id, []))])
    try:  # a session already ended (signed in, or its last wrong code) is not brought back without its fields
        sess.update(actions=[SignInSession.failures.add(1)], condition=SignInSession.pk.exists())
    except UpdateError:
        return Unauthenticated("MFA_CODE_INVALID")
    if int(sess.failures) >= MAX_CODE_FAILURES:
        sess.delete()
    return Unauthenticated("MFA_CODE_INVALID")


def _signed_in(tenant_id: str, sess: SignInSession, action: str) -> dict[str, Any]:
    sess.delete()
    tx.write([tx.put(audit.entry(tenant_id, "session", sess.user_id, action, sess.user_id, []))])
    user = org.load(tenant_id, fresh=True).users.get(sess.user_id)
    if user is None or user.status != "active":
        raise Unauthenticated("INVALID_CREDENTIALS")
    return org.sign_in_token(tenant_id, sess.user_id, sess.mobile, user.name, second_factor=True)


def verify(tenant_id: str, token: str, code: str) -> dict[str, Any]:
    """Answer a MFA_CODE challenge with the authenticator's code: the id token."""
    sess = _session(tenant_id, token, "verify")
    org.sign_in_guard(tenant_id, sess.mobile)
    f = _factor(tenant_id, sess.user_id)
    if f is None or f.status != "active" or not _take_code(f, code):
        raise _wrong_code(tenant_id, sess)
    metric("signin.mfa.verified")
    return _signed_in(tenant_id, sess, "mfa_verified")


def setup_start(tenant_id: str, token: str) -> dict[str, Any]:
    """MFA_SETUP challenge, step 1: a new authenticator secret and its otpauth:// URI."""
    sess = _session(tenant_id, token, "setup")
    org.sign_in_guard(tenant_id, sess.mobile)
    return _new_secret(tenant_id, sess.user_id, sess.mobile)


def setup_confirm(tenant_id: str, token: str, code: str) -> dict[str, Any]:
    """MFA_SETUP challenge, step 2: the first code from the authenticator; the id token."""
    sess = _session(tenant_id, token, "setup")
    org.sign_in_guard(tenant_id, sess.mobile)
    if not _confirm(tenant_id, sess.user_id, code):
        raise _wrong_code(tenant_id, sess)
    return _signed_in(tenant_id, sess, "mfa_verified")


# ---- a signed-in user's own factor ----------------------------------------------------------------

def _me() -> tuple[str, str, str]:
    p = org.principal()
    user = org.get_user(p.user_id)
    return p.tenant_id, p.user_id, user.mobile


def _local_only() -> None:
    if not isinstance(identity.provider(), identity.LocalIdentity):
        raise Forbidden("LOCAL_IDENTITY_ONLY")  # Cognito: AssociateSoftwareToken with the access token


def my_status() -> dict[str, Any]:
    tenant, user_id, _ = _me()
    return {"enrolled": _second_factor_enabled(tenant, user_id, fresh=True), "required": mfa_required(tenant)}


def _reauthenticate(tenant_id: str, user_id: str, mobile: str, password: str) -> None:
    """The caller's current password, checked as a sign-in checks it: the mobile number's rate limit and
    lock-out first (429), and a wrong one counts toward the lock-out; 403 CURRENT_PASSWORD_INVALID."""
    org.sign_in_guard(tenant_id, mobile)
    if not identity.provider().verify(tenant_id, user_id, password):
        org.sign_in_failed(tenant_id, mobile)
        tx.write([tx.put(audit.entry(tenant_id, "session", user_id, "password_failed", user_id, []))])
        raise Forbidden("CURRENT_PASSWORD_INVALID")


def my_setup_start(password: str) -> dict[str, Any]:
    """Enrol an authenticator with a bearer token: the current password too (a token alone is not enough)."""
    _local_only()
    tenant, user_id, mobile = _me()
    _reauthenticate(tenant, user_id, mobile, password)
    return _new_secret(tenant, user_id, mobile)


def my_setup_confirm(code: str, password: str) -> dict[str, Any]:
    _local_only()
    tenant, user_id, mobile = _me()
    _reauthenticate(tenant, user_id, mobile, password)
    if not _confirm(tenant, user_id, code):
        org.sign_in_failed(tenant, mobile)
        raise Unauthenticated("MFA_CODE_INVALID")
    return my_status()


# ---- administrators --------------------------------------------------------------------------------

def reset(user_id: str) -> None:
    """An administrator removes a user's authenticator (lost phone): the next sign-in enrols a new one
    when the tenant requires MFA, and every session of the user ends (a token or refresh token taken
    with the old authenticator is not kept), as sign-out everywhere does. Written to the operation log
    (user, mfa_reset)."""
    ctx = context.current()
    org.principal().require(MODULE, "manage")
    tenant = ctx.tenant_id
    user = org.get_user(user_id)  # 404 for a user of no tenant of the caller's
    idp = identity.provider()
    ops = [*org.end_sessions_ops(user, ctx.user_id), tx.put(audit.entry(tenant, "user", user_id, "mfa_reset", ctx.user_id, []))]
    if isinstance(idp, identity.LocalIdentity):
        f = _factor(tenant, user_id)
        tx.write([*([tx.delete(f)] if f is not None else []), *ops])
    else:
        idp.disable_totp(tenant, user_id)
        tx.write(ops)
    org.invalidate(tenant)
    idp.sign_out_everywhere(tenant, user_id)  # Cognito: AdminUserGlobalSignOut (refresh tokens); local: nothing more
    _factors.invalidate(tenant)
    _cognito_enabled.pop((tenant, user_id), None)
    metric("signin.mfa.reset")


# ---- every request ----------------------------------------------------------------------------------

_cognito_enabled: dict[tuple[str, str], float] = {}  # (tenant, user) -> when TOTP was last seen enabled (monotonic)


def _second_factor_enabled(tenant_id: str, user_id: str, *, fresh: bool = False) -> bool:
    idp = identity.provider()
    if isinstance(idp, identity.LocalIdentity):
        return _factor_active(tenant_id, user_id) if fresh else _enrolled(tenant_id, user_id)
    seen = _cognito_enabled.get((tenant_id, user_id))
    if not fresh and seen is not None and time.monotonic() - seen < get_settings().authz_cache_seconds:
        return True
    enabled = idp.totp_enabled(tenant_id, user_id)
    if enabled:
        _cognito_enabled[(tenant_id, user_id)] = time.monotonic()
    else:
        _cognito_enabled.pop((tenant_id, user_id), None)
    return enabled


def second_factor_used(amr: tuple[str, ...]) -> bool:
    return auth.AMR_OTP in amr or "mfa" in amr


def check_session(tenant_id: str, user_id: str, issued_at: int, amr: tuple[str, ...] = ()) -> None:
    """The session check of every request (core/session.py): org's, then the tenant's second-factor policy.
    Own IdP: while the tenant requires MFA, a token earned without a code (`amr` without `otp`: one issued
    before the policy changed) is refused, 401 MFA_REQUIRED — from the token and the cached policy, no
    read. Cognito: the user's account must have TOTP enabled (its ID tokens do not say how they were earned)."""
    org.check_session(tenant_id, user_id, issued_at)
    if isinstance(identity.provider(), identity.LocalIdentity):
        if not second_factor_used(amr) and mfa_required(tenant_id):
            raise Unauthenticated("MFA_REQUIRED")
        return
    if mfa_required(tenant_id) and not _second_factor_enabled(tenant_id, user_id):
        raise Forbidden("MFA_SETUP_REQUIRED")


def check_platform_session(tenant_id: str, user_id: str, issued_at: int) -> None:
    """The check of a platform operator's requests: under Cognito an operator must have TOTP enabled,
    whatever any tenant's policy (403 MFA_SETUP_REQUIRED otherwise). On the own identity provider an
    operator is only a token minted with its signing key (devstack/token.py): there is no login to hold."""
    if isinstance(identity.provider(), identity.LocalIdentity):
        return
    if not _second_factor_enabled(tenant_id, user_id):
        raise Forbidden("MFA_SETUP_REQUIRED")


def reset_caches() -> None:
    _policies.clear()
    _factors.clear()
    _cognito_enabled.clear()

