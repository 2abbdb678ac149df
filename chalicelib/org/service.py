"""Organisation rules: departments, users, roles, sessions, hand-over, and the cached org
snapshot that every permission decision is made on."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..core import clock, context, handover, ids, pagination, ratelimit
from ..core.cache import TenantCache
from ..core.errors import Conflict, Forbidden, LimitExceeded, NotFound, Unauthenticated, ValidationFailed, detail, invalid
from ..core.observability import metric
from ..core.permissions import ACTIONS, MODULES, FieldAccess, OrgSnapshot, OrgUser, Principal, Scope
from ..core.permissions import Role as PRole
from ..core.settings import get_settings
from ..db import audit, changes, keys, tx
from ..db.base import Item
from ..dictionaries import service as dictionaries
from ..ports import events, identity
from .models import Department, LoginFailures, Role, UniqueValue, User

ORG = "org"
ROLES = "roles"
MAX_PARTICIPANTS = 20  # people taking part in one task or event (their participant_ids)


# ---- snapshot --------------------------------------------------------------------------

@dataclass
class OrgData:
    snapshot: OrgSnapshot
    departments: dict[str, Department]
    users: dict[str, User]
    roles: dict[str, Role]


def _load(tenant_id: str) -> OrgData:
    """The tenant's organisation: one Query on the org partition."""
    departments: dict[str, Department] = {}
    users: dict[str, User] = {}
    roles: dict[str, Role] = {}
    for item in Item.query(keys.org_partition(tenant_id)):
        if isinstance(item, Department):
            departments[item.id] = item
        elif isinstance(item, User):
            users[item.id] = item
        elif isinstance(item, Role):
            roles[item.id] = item
    snap = OrgSnapshot(
        tenant_id=tenant_id,
        departments={d.id: d.parent_id for d in departments.values()},
        users={u.id: OrgUser(id=u.id, department_id=u.department_id, supervisor_id=u.supervisor_id,
                             role_ids=tuple(u.role_ids or ()), active=u.status == "active") for u in users.values()},
        roles={r.id: _to_role(r) for r in roles.values()},
    )
    return OrgData(snap, departments, users, roles)


_cache: TenantCache[OrgData] = TenantCache(_load, lambda: get_settings().authz_cache_seconds)


def _to_role(r: Role) -> PRole:
    return PRole(
        id=r.id, name=r.name, is_super=bool(r.is_super),
        actions={m: frozenset(a) for m, a in (r.actions or {}).items()},
        scopes={m: Scope(s) for m, s in (r.scopes or {}).items()},
        fields={m: {f: FieldAccess[v.upper()] for f, v in fs.items()} for m, fs in (r.fields or {}).items()},
    )


def load(tenant_id: str, *, fresh: bool = False) -> OrgData:
    """The organisation, cached per container for CRM_AUTHZ_CACHE_SECONDS."""
    return _cache.get(tenant_id, fresh=fresh)


def invalidate(tenant_id: str) -> None:
    _cache.invalidate(tenant_id)


def principal() -> Principal:
    ctx = context.current()
    if ctx.is_system:
        raise Forbidden("SYSTEM_NO_USER")
    return Principal(ctx.tenant_id, ctx.user_id, load(ctx.tenant_id).snapshot)


def check_session(tenant_id: str, user_id: str, issued_at: int) -> None:
    """A token is only good for an existing, active user, issued after the last revocation."""
    data = load(tenant_id)
    user = data.users.get(user_id)
    if user is None or (user.tokens_valid_after and issued_at < int(user.tokens_valid_after)):
        user = load(tenant_id, fresh=True).users.get(user_id)  # a new user or a fresh revocation
    if user is None:
        raise Unauthenticated("INVALID_TOKEN", reason="unknown user")
    if user.status != "active":
        raise Unauthenticated("ACCOUNT_DISABLED")
    if issued_at < int(user.tokens_valid_after or 0):
        raise Unauthenticated("INVALID_TOKEN", reason="revoked")


def check_users(p: Principal, user_ids: list[str], field: str) -> list[dict[str, Any]]:
    """The problems of the users a record names (participants): each must be an active user of the
    caller's tenant — an unknown one and a disabled one are refused alike, each at its own path
    (`participant_ids.1`)."""
    return [detail(f"{field}.{i}", "not_found", "field.user") for i, uid in enumerate(user_ids or [])
            if (u := p.org.users.get(uid)) is None or not u.active]


def user_name(tenant_id: str, user_id: str) -> str:
    u = load(tenant_id).users.get(user_id)
    return u.name if u else user_id


def _ctx() -> tuple[str, str]:
    ctx = context.current()
    return ctx.tenant_id, ctx.user_id


def _commit(tenant_id: str, ops: list[tx.Op]) -> None:
    tx.write(ops)
    invalidate(tenant_id)


def _save(item: Any, entity: str, actor: str, values: dict[str, Any], expected: int | None, **kw: Any) -> None:
    """Versioned change + audit entry (db.changes), then drop the cached organisation."""
    changes.save(item, entity, item.id, actor, values, expected, **kw)
    invalidate(item.tenant_id)


def _department(data: OrgData, dept_id: str) -> Department:
    d = data.departments.get(dept_id)
    if d is None:
        raise NotFound("entity.department")
    return d


# ---- departments -------------------------------------------------------------------------

def department_out(d: Department, data: OrgData) -> dict[str, Any]:
    return {**d.values(), "id": d.id, "version": d.version,
            "user_count": sum(1 for u in data.users.values() if u.department_id == d.id)}


def list_departments() -> list[dict[str, Any]]:
    tenant, _ = _ctx()
    principal()  # signed-in member of the tenant
    data = load(tenant)
    return sorted((department_out(d, data) for d in data.departments.values()),
                  key=lambda d: (d["parent_id"] or "", d["sort_order"], d["name"]))


def get_department(dept_id: str) -> Department:
    tenant, _ = _ctx()
    d = load(tenant).departments.get(dept_id) or load(tenant, fresh=True).departments.get(dept_id)
    if d is None:
        raise NotFound("entity.department")
    return d


def _require_user(data: OrgData, user_id: str | None, field: str) -> None:
    if user_id and user_id not in data.users:
        raise invalid(field, "not_found", "field.user")


def create_department(name: str, parent_id: str, head_user_id: str | None, sort_order: int) -> dict[str, Any]:
    tenant, actor = _ctx()
    principal().require(ORG, "create")
    data = load(tenant, fresh=True)
    if parent_id not in data.departments:
        raise invalid("parent_id", "not_found", "field.parent_department")
    _require_user(data, head_user_id, "head_user_id")
    d = Department(tenant_id=tenant, id=ids.new_id(), name=name, parent_id=parent_id, head_user_id=head_user_id, sort_order=sort_order)
    d.pk, d.sk = Department.key(tenant, d.id)
    changes.stamp(d, actor, new=True)
    changes.create(d, "department", d.id, actor)
    invalidate(tenant)
    metric("org.department.created")
    return department_out(d, load(tenant))


def update_department(dept_id: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    tenant, actor = _ctx()
    principal().require(ORG, "update")
    d = get_department(dept_id)
    _require_user(load(tenant), values.get("head_user_id"), "head_user_id")
    _save(d, "department", actor, values, expected)
    return department_out(d, load(tenant))


def move_department(dept_id: str, parent_id: str, expected: int) -> dict[str, Any]:
    tenant, actor = _ctx()
    principal().require(ORG, "update")
    data = load(tenant, fresh=True)
    d = _department(data, dept_id)
    changes.check_version(d, expected)
    if d.parent_id is None:
        raise ValidationFailed("ROOT_DEPARTMENT")
    if parent_id not in data.departments:
        raise invalid("parent_id", "not_found", "field.parent_department")
    if parent_id in data.snapshot.department_tree(dept_id):
        raise ValidationFailed("DEPARTMENT_CYCLE")
    _save(d, "department", actor, {"parent_id": parent_id}, expected, action="move")
    return department_out(d, load(tenant))


def delete_department(dept_id: str, expected: int) -> None:
    tenant, actor = _ctx()
    principal().require(ORG, "delete")
    data = load(tenant, fresh=True)
    d = _department(data, dept_id)
    changes.check_version(d, expected)
    if d.parent_id is None:
        raise ValidationFailed("ROOT_DEPARTMENT")
    children = sum(1 for x in data.departments.values() if x.parent_id == dept_id)
    members = sum(1 for u in data.users.values() if u.department_id == dept_id)
    if children or members:
        raise Conflict("DEPARTMENT_NOT_EMPTY", children=children, users=members, details={"children": children, "users": members})
    changes.delete(d, "department", d.id, actor, expected)
    invalidate(tenant)


# ---- users ---------------------------------------------------------------------------------

def user_out(u: User) -> dict[str, Any]:
    return {**u.values(), "id": u.id, "version": u.version}


def get_user(user_id: str) -> User:
    tenant, _ = _ctx()
    u = load(tenant).users.get(user_id) or load(tenant, fresh=True).users.get(user_id)
    if u is None:
        raise NotFound("entity.user")
    return u


def shaped_user(u: User, p: Principal | None = None) -> dict[str, Any]:
    """A user as the caller may see them (contact fields follow the org field rules)."""
    p = p or principal()
    out = user_out(u)
    if u.id == p.user_id:
        return out
    return {**out, **p.shape(ORG, {k: out[k] for k in ("mobile", "email")}),
            **{k: None for k in ("mobile", "email") if p.field_access(ORG, k) is FieldAccess.HIDDEN}}


def _offset(value: object) -> int:
    """A user-list cursor's position: how many users the earlier pages showed."""
    if type(value) is not int or not 0 <= value <= 1_000_000:
        raise ValueError("not an offset")
    return value


def list_users(department_id: str | None, status: str | None, q: str | None, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:

    tenant, _ = _ctx()
    p = principal()
    data = load(tenant)
    rows = sorted(data.users.values(), key=lambda u: (u.name, u.id))
    if department_id:
        rows = [u for u in rows if u.department_id == department_id]
    if status:
        rows = [u for u in rows if u.status == status]
    if q:
        # mobile numbers are searchable only by callers who may read them unmasked
        by_mobile = p.field_access(ORG, "mobile") >= FieldAccess.READ
        rows = [u for u in rows if q in u.name or (by_mobile and q in u.mobile)]
    listing = "org.users|" + pagination.fingerprint([department_id, status, q])
    start = pagination.decode(cursor, listing, _offset) or 0
    page = rows[start:start + limit]
    nxt = pagination.encode(start + limit, listing) if start + limit < len(rows) else None
    return [shaped_user(u, p) for u in page], nxt


def _check_refs(data: OrgData, department_id: str | None, role_ids: list[str] | None, supervisor_id: str | None,
                position: str | None) -> None:
    errors = []
    if department_id is not None and department_id not in data.departments:
        errors.append(detail("department_id", "not_found", "field.department"))
    for r in role_ids or []:
        if r not in data.roles:
            errors.append(detail("role_ids", "not_found", "field.role"))
    if supervisor_id and supervisor_id not in data.users:
        errors.append(detail("supervisor_id", "not_found", "field.supervisor"))
    if position:
        if not dictionaries.exists(data.snapshot.tenant_id, "position", position):
            errors.append(detail("position", "dictionary", "field.dictionary", value=position))
    if errors:
        raise ValidationFailed(details=errors)


def new_user_ops(tenant: str, actor: str, body: dict[str, Any], user_id: str | None = None) -> tuple[User, list[tx.Op]]:
    """The items of a new user: profile, unique mobile guard, credential (local IdP), audit."""
    u = User(tenant_id=tenant, id=user_id or ids.new_id(), mobile=body["mobile"], name=body["name"], gender=body.get("gender"),
             email=body.get("email"), department_id=body["department_id"], position=body.get("position"),
             supervisor_id=body.get("supervisor_id"), role_ids=list(body.get("role_ids") or []), status="active", tokens_valid_after=0)
    u.pk, u.sk = User.key(tenant, u.id)
    changes.stamp(u, actor, new=True)
    guard = UniqueValue(pk=keys.unique_pk(tenant, "MOBILE", u.mobile), sk="UQ", tenant_id=tenant, owner_id=u.id)
    ops = [
        tx.put(u, condition=User.pk.does_not_exist()),
        tx.put(guard, condition=UniqueValue.pk.does_not_exist(),
               on_conflict=lambda: ValidationFailed("DUPLICATE", field="label.mobile", value=u.mobile,
                                                    details=[detail("mobile", "duplicate", "field.mobile_taken")])),
        tx.put(audit.entry(tenant, "user", u.id, "create", actor, audit.diff(None, u.values()))),
    ]
    idp = identity.provider()
    if isinstance(idp, identity.LocalIdentity):
        ops.append(tx.put(idp.credential_item(tenant, u.id, body["password"])))
    return u, ops


def create_user(body: dict[str, Any]) -> dict[str, Any]:
    tenant, actor = _ctx()
    principal().require(ORG, "create")
    data = load(tenant, fresh=True)
    _check_refs(data, body["department_id"], body.get("role_ids"), body.get("supervisor_id"), body.get("position"))
    u, ops = new_user_ops(tenant, actor, body)
    _commit(tenant, ops)
    idp = identity.provider()
    if not isinstance(idp, identity.LocalIdentity):
        idp.create_login(tenant, u.id, u.mobile, body["password"])
    metric("org.user.created")
    return user_out(u)


def _active_supers(data: OrgData, excluding: str | None = None, new_roles: list[str] | None = None) -> int:
    count = 0
    for u in data.users.values():
        roles = new_roles if (excluding and u.id == excluding and new_roles is not None) else list(u.role_ids or [])
        active = u.status == "active" and not (excluding and u.id == excluding and new_roles is None)
        if active and any(data.roles[r].is_super for r in roles if r in data.roles):
            count += 1
    return count


def update_user(user_id: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    tenant, actor = _ctx()
    p = principal()
    p.require(ORG, "update")
    data = load(tenant, fresh=True)
    u = data.users.get(user_id)
    if u is None:
        raise NotFound("entity.user")
    changes.check_version(u, expected)
    _check_refs(data, values.get("department_id"), values.get("role_ids"), values.get("supervisor_id"), values.get("position"))
    if values.get("supervisor_id"):
        seen, cur = set(), values["supervisor_id"]
        while cur and cur not in seen:
            if cur == user_id:
                raise ValidationFailed("SUPERVISOR_CYCLE")
            seen.add(cur)
            cur = data.users[cur].supervisor_id if cur in data.users else None
    if "role_ids" in values:
        granting_super = any(data.roles[r].is_super for r in values["role_ids"] or [] if r in data.roles)
        if granting_super and not p.is_super:
            raise Forbidden("SUPER_ROLE_SUPER_ONLY")
        if _active_supers(data, excluding=user_id, new_roles=list(values["role_ids"] or [])) == 0:
            raise ValidationFailed("LAST_SUPER_ADMIN")
    moved_from = u.department_id if values.get("department_id") not in (None, u.department_id) else None
    _save(u, "user", actor, values, expected)
    if moved_from:  # who belongs where changed: e.g. the public pools the user is a member of (pools/timers.py)
        events.publish("org", "org.user.moved", tenant, {"user_id": user_id, "from_department_id": moved_from,
                                                         "to_department_id": u.department_id, "actor_id": actor})
    return user_out(u)


def set_user_status(user_id: str, active: bool) -> dict[str, Any]:
    tenant, actor = _ctx()
    principal().require(ORG, "update")
    data = load(tenant, fresh=True)
    u = data.users.get(user_id)
    if u is None:
        raise NotFound("entity.user")
    if not active and _active_supers(data, excluding=user_id) == 0:
        raise ValidationFailed("LAST_SUPER_ADMIN")
    values: dict[str, Any] = {"status": "active" if active else "disabled"}
    if not active:
        values["tokens_valid_after"] = int(time.time()) + 1
    _save(u, "user", actor, values, None, action="enable" if active else "disable")
    identity.provider().set_enabled(tenant, user_id, active)
    if not active:  # nothing waits on someone who cannot act (their pending approvals move on)
        invalidate(tenant)
        for _module, moved in sorted(handover.on_disabled().items()):
            moved(tenant, user_id, actor)
    return user_out(u)


def end_sessions_ops(u: User, actor: str) -> list[tx.Op]:
    """The write that ends every token of the user issued until now (checked on every request, as
    sign-out everywhere does), for a caller's own transaction; then `invalidate` the tenant and call
    the identity provider's `sign_out_everywhere`."""
    u.tokens_valid_after = int(time.time()) + 1
    changes.stamp(u, actor)
    return [tx.put(u)]


def revoke_sessions(user_id: str, *, actor_action: str = "revoke_sessions") -> None:
    tenant, actor = _ctx()
    p = principal()
    if user_id != p.user_id:
        p.require(ORG, "manage")
    u = get_user(user_id)
    u.tokens_valid_after = int(time.time()) + 1
    changes.stamp(u, actor)
    _commit(tenant, [tx.put(u), tx.put(audit.entry(tenant, "user", u.id, actor_action, actor, []))])
    identity.provider().sign_out_everywhere(tenant, user_id)


def reset_password(user_id: str, password: str) -> None:
    """密码恢复: an administrator sets a new password; the user's sessions end."""
    tenant, actor = _ctx()
    principal().require(ORG, "manage")
    get_user(user_id)
    identity.provider().set_password(tenant, user_id, password)
    revoke_sessions(user_id, actor_action="reset_password")


def handover_user(from_user_id: str, to_user_id: str, disable: bool) -> dict[str, Any]:
    """交接: move everything the leaving user owns to a colleague, then (optionally) disable them.

    Every module's check runs before anything moves (the receiver's ownership limits: a receiver
    without room for all the customers refuses the whole hand-over). Each record then moves in a
    transaction of its own, still conditioned on the limits; should one be refused all the same (a
    customer given to the receiver meanwhile), the error is answered with what moved so far left
    moved and the leaving user not disabled — calling again moves the rest."""
    tenant, actor = _ctx()
    principal().require(ORG, "manage")
    data = load(tenant, fresh=True)
    if from_user_id not in data.users:
        raise NotFound("entity.user")
    target = data.users.get(to_user_id)
    if target is None or target.status != "active" or to_user_id == from_user_id:
        raise invalid("to_user_id", "invalid", "field.other_user")
    for _module, check in sorted(handover.checks().items()):
        check(tenant, from_user_id, to_user_id)
    counts = {module: fn(tenant, from_user_id, to_user_id, actor) for module, fn in sorted(handover.transfers().items())}
    moved = {module: n for module, n in counts.items() if n}
    tx.write([tx.put(audit.entry(tenant, "user", from_user_id, "handover", actor,
                                 [{"field": "handed_over_to", "before": None, "after": to_user_id}], note=str(moved)))])
    disabled = False
    if disable and data.users[from_user_id].status == "active":
        set_user_status(from_user_id, False)
        disabled = True
    events.publish("org", "org.user.handed_over", tenant, {"from_user_id": from_user_id, "to_user_id": to_user_id,
                                                           "from_name": data.users[from_user_id].name, "moved": moved})
    return {"from_user_id": from_user_id, "to_user_id": to_user_id, "moved": moved, "disabled": disabled}


# ---- sign-in (local identity provider) --------------------------------------------------------

MAX_LOGIN_FAILURES = 5
LOCKOUT_MINUTES = 15


def _failures_key(tenant_id: str, mobile: str) -> tuple[str, str]:
    return keys.k(tenant_id, "LOGINFAIL", mobile), "#"


def _locked_for(tenant_id: str, mobile: str) -> int:
    """Minutes left on a lock-out (0 = may try). Expired windows count as none (TTL is lazy)."""
    try:
        f = LoginFailures.get(*_failures_key(tenant_id, mobile), consistent_read=True)
    except LoginFailures.DoesNotExist:
        return 0
    left = (f.expires_at - clock.now()).total_seconds() if f.expires_at else 0
    if left <= 0 or int(f.count) < MAX_LOGIN_FAILURES:
        return 0
    return max(1, int(left // 60) + (left % 60 > 0))


def _count_failure(tenant_id: str, mobile: str) -> None:
    pk, sk = _failures_key(tenant_id, mobile)
    item = LoginFailures(pk=pk, sk=sk)
    try:
        existing = LoginFailures.get(pk, sk, consistent_read=True)
        if existing.expires_at and existing.expires_at <= clock.now():
            existing.delete()  # an old window: start a new one
    except LoginFailures.DoesNotExist:
        pass
    window_end = clock.now() + timedelta(minutes=LOCKOUT_MINUTES)
    item.update(actions=[LoginFailures.count.add(1), LoginFailures.tenant_id.set(tenant_id),
                         LoginFailures.type.set(LoginFailures),
                         LoginFailures.expires_at.set(LoginFailures.expires_at | window_end)])


def sign_in_guard(tenant_id: str, mobile: str) -> None:
    """Before any sign-in step (password or second factor): the per-mobile rate limit, then the lock-out."""
    ratelimit.charge_sign_in(tenant_id, mobile)
    minutes = _locked_for(tenant_id, mobile)
    if minutes:
        metric("auth.login.locked")
        raise LimitExceeded("LOGIN_LOCKED", minutes=minutes, retry_after=minutes * 60, details={"retry_after_minutes": minutes})


def sign_in_failed(tenant_id: str, mobile: str) -> None:
    """A wrong password or a wrong second-factor code: one more toward the mobile number's lock-out."""
    _count_failure(tenant_id, mobile)
    metric("auth.login.failed")


def sign_in_token(tenant_id: str, user_id: str, mobile: str, name: str, *, second_factor: bool = False) -> dict[str, Any]:
    """Every sign-in step passed: clear the failures and issue the id token (local identity provider); its
    `amr` says whether a second factor was given."""
    from ..core import auth

    LoginFailures(*_failures_key(tenant_id, mobile)).delete()
    invalidate(tenant_id)  # the next request reads the organisation as it is now (e.g. a user enabled elsewhere)
    metric("auth.login")
    s = get_settings()
    amr = (auth.AMR_PASSWORD, auth.AMR_OTP) if second_factor else (auth.AMR_PASSWORD,)
    return {"id_token": auth.issue_local_token(tenant_id, user_id, name=name, amr=amr), "token_type": "Bearer",
            "expires_in": s.token_ttl_seconds, "user_id": user_id, "tenant_id": tenant_id}


def login(tenant_id: str, mobile: str, password: str) -> dict[str, Any]:
    """Sign in with the local identity provider.

    Limits: CRM_SIGN_IN_PER_MINUTE attempts per mobile number (core/ratelimit.py), and after
    MAX_LOGIN_FAILURES wrong passwords (or second-factor codes) for a mobile number within
    LOCKOUT_MINUTES further attempts are refused (429) until the window ends, whether the password
    is right or not. Both count unknown numbers like known ones. Every refusal of the credentials
    is the same 401 INVALID_CREDENTIALS (wrong password, unknown number, disabled account) and
    costs the same password hash: an unknown or disabled account is checked against a dummy hash.
    A right password answers the id token, or a second-factor challenge (chalicelib/signin)."""
    from ..signin import service as signin

    idp = identity.provider()
    if not isinstance(idp, identity.LocalIdentity):
        raise Forbidden("LOCAL_IDENTITY_ONLY")
    sign_in_guard(tenant_id, mobile)
    try:
        guard = UniqueValue.get(keys.unique_pk(tenant_id, "MOBILE", mobile), "UQ")
        user = User.get(*User.key(tenant_id, guard.owner_id))
    except (UniqueValue.DoesNotExist, User.DoesNotExist, ValueError):
        user = None
    active = user is not None and user.status == "active"
    ok = idp.verify(tenant_id, user.id if active else None, password)
    if user is not None:
        tx.write([tx.put(audit.entry(tenant_id, "session", user.id, "login" if ok else "login_failed", user.id, []))])
    if not ok or user is None:
        sign_in_failed(tenant_id, mobile)
        raise Unauthenticated("INVALID_CREDENTIALS")
    return signin.after_password(tenant_id, user.id, mobile, user.name)


def me() -> dict[str, Any]:
    p = principal()
    u = get_user(p.user_id)
    modules = sorted({m for r in p.roles for m in r.actions})

    if p.is_super:
        modules = sorted(MODULES)
    return {"tenant_id": p.tenant_id, "user": user_out(u), "is_super": p.is_super,
            "permissions": {m: sorted(a for a in ACTIONS if p.can(m, a)) for m in modules},
            "scopes": {m: sorted(s.value for s in p.scopes(m)) for m in modules}}


# ---- roles ---------------------------------------------------------------------------------

def role_out(r: Role) -> dict[str, Any]:
    return {**r.values(), "id": r.id, "builtin": bool(r.builtin), "version": r.version}


def list_roles() -> list[dict[str, Any]]:
    tenant, _ = _ctx()
    principal()
    return sorted((role_out(r) for r in load(tenant).roles.values()), key=lambda r: (not r["is_super"], r["name"]))


def new_top_department(tenant: str, actor: str, name: str) -> Department:
    """The department a new tenant starts with (written in the tenant's creation transaction)."""
    d = Department(tenant_id=tenant, id=ids.new_id(), name=name, parent_id=None, sort_order=0)
    d.pk, d.sk = Department.key(tenant, d.id)
    changes.stamp(d, actor, new=True)
    return d


def new_role(tenant: str, actor: str, role_id: str | None, name: str, *, is_super: bool = False, builtin: bool = False,
             description: str | None = None, actions: dict | None = None, scopes: dict | None = None, fields: dict | None = None) -> Role:
    r = Role(tenant_id=tenant, id=role_id or ids.new_id(), name=name, description=description, is_super=is_super, builtin=builtin,
             actions=actions or {}, scopes={m: Scope(s).value for m, s in (scopes or {}).items()}, fields=fields or {})
    r.pk, r.sk = Role.key(tenant, r.id)
    changes.stamp(r, actor, new=True)
    return r


def create_role(body: dict[str, Any]) -> dict[str, Any]:
    tenant, actor = _ctx()
    principal().require(ROLES, "manage")
    r = new_role(tenant, actor, None, body["name"], description=body.get("description"), actions=body.get("actions"),
                 scopes=body.get("scopes"), fields=body.get("fields"))
    changes.create(r, "role", r.id, actor)
    invalidate(tenant)
    return role_out(r)


def update_role(role_id: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    tenant, actor = _ctx()
    principal().require(ROLES, "manage")
    r = load(tenant, fresh=True).roles.get(role_id)
    if r is None:
        raise NotFound("entity.role")
    changes.check_version(r, expected)
    if r.is_super:
        raise ValidationFailed("INVALID_STATE", reason="reason.super_role")
    if "scopes" in values:
        values = {**values, "scopes": {m: Scope(s).value for m, s in values["scopes"].items()}}
    _save(r, "role", actor, values, expected)
    return role_out(r)


def grant_ops(tenant: str, actor: str, module: str, grants: dict[str, dict[str, Any]]) -> list[tx.Op]:
    """Writes that give roles actions and a data scope on `module` (a new custom object), to
    commit with whatever creates the module. Unknown roles are refused by name; the super
    administrator needs no grant."""
    roles = load(tenant, fresh=True).roles
    unknown = sorted(r for r in grants if r not in roles)
    if unknown:
        raise ValidationFailed(details=[detail(f"grants.{r}", "not_found", "field.role") for r in unknown])
    ops: list[tx.Op] = []
    for role_id, g in sorted(grants.items()):
        r = roles[role_id]
        if r.is_super:
            continue
        actions = {**(r.actions or {}), module: sorted(set(g["actions"]))}
        scopes = {**(r.scopes or {}), module: Scope(g.get("scope") or "self").value}
        ops += changes.save_ops(r, "role", r.id, actor, {"actions": actions, "scopes": scopes}, None)
    return ops


def delete_role(role_id: str, expected: int) -> None:
    tenant, actor = _ctx()
    principal().require(ROLES, "manage")
    data = load(tenant, fresh=True)
    r = data.roles.get(role_id)
    if r is None:
        raise NotFound("entity.role")
    changes.check_version(r, expected)
    if r.is_super or r.builtin:
        raise ValidationFailed("INVALID_STATE", reason="reason.builtin_role")
    holders = sum(1 for u in data.users.values() if role_id in (u.role_ids or []))
    if holders:
        raise Conflict("ROLE_IN_USE", users=holders)
    changes.delete(r, "role", r.id, actor, expected)
    invalidate(tenant)
