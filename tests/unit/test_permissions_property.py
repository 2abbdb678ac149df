"""Property tests for chalicelib.core.permissions (PLAT-3: roles, data scopes, teams, fields).

The expected values come from a brute-force reference model written here from the rules
alone. It works on the plain generated data (never on OrgSnapshot's helpers such as
subordinates() / department_tree() / users_in()):

* u is a subordinate of me iff following u's supervisor links (stopping at a missing
  supervisor or at a cycle) reaches me;
* department d is in my tree iff d is my department or following d's parent links
  (stopping at a missing parent or at a cycle) reaches my department;
* a role's scope / field rules for a module only count if the role lists at least one
  action in that module; the widest role wins; a super administrator has everything.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.core.permissions import (
    FieldAccess,
    OrgSnapshot,
    OrgUser,
    Principal,
    Role,
    Scope,
    mask,
)

NOW = "2024-06-01T12:00:00Z"
UNTILS = [
    None,
    "2023-01-01T00:00:00Z",  # long expired
    "2024-06-01T11:59:59Z",  # just expired
    NOW,  # expires exactly now -> counts for nothing
    "2024-06-01T12:00:01Z",  # just valid
    "2030-01-01T00:00:00Z",  # far future
]
MODULES_T = ["customers", "reminders", "org"]
ACTIONS_T = ["create", "update", "list", "read", "delete", "export", "team"]
READ_ONLY_ACTIONS = {"read", "list", "export", "print"}
FIELDS_T = ["name", "mobile", "email", "notes"]
FIELD_VALUES = ["13812341234", "abc@x.com", "@x.com", "Zhang San", "ab", "x", "", None, 42]
ORDER = {FieldAccess.HIDDEN: 0, FieldAccess.MASKED: 1, FieldAccess.READ: 2, FieldAccess.EDIT: 3}

PROFILE = dict(
    max_examples=200,
    deadline=None,
    database=None,  # keep the working tree clean (no .hypothesis/ directory)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------------------------------
# generated world (plain data) + snapshot built from it
# ---------------------------------------------------------------------------------------
@dataclass
class World:
    prefix: str
    departments: dict[str, str | None]
    users: dict[str, dict[str, Any]]  # id -> {department, supervisor, roles, active}
    roles: dict[str, dict[str, Any]]  # id -> {is_super, actions, scopes, fields}
    records: list[dict[str, Any]]  # {owner, team, data}

    def snapshot(self) -> OrgSnapshot:
        return OrgSnapshot(
            tenant_id=f"tenant-{self.prefix}",
            departments=dict(self.departments),
            users={
                uid: OrgUser(id=uid, department_id=u["department"], supervisor_id=u["supervisor"],
                             role_ids=tuple(u["roles"]), active=u["active"])
                for uid, u in self.users.items()
            },
            roles={
                rid: Role(id=rid, name=rid, is_super=r["is_super"],
                          actions={m: frozenset(a) for m, a in r["actions"].items()},
                          scopes=dict(r["scopes"]),
                          fields={m: dict(f) for m, f in r["fields"].items()})
                for rid, r in self.roles.items()
            },
        )


_INT = {}


def _int(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Cached integer strategies: drawing plain integers keeps generation cheap."""
    if (lo, hi) not in _INT:
        _INT[lo, hi] = st.integers(lo, hi)
    return _INT[lo, hi]


SCOPES_L = list(Scope)
FIELD_ACCESS_L = list(FieldAccess)


@st.composite
def worlds(draw, prefix: str = "a:", with_records: bool = True) -> World:
    p = prefix

    def pick(seq):
        return seq[draw(_int(0, len(seq) - 1))]

    def maybe(seq):  # None or an element
        i = draw(_int(-1, len(seq) - 1))
        return None if i < 0 else seq[i]

    # departments: a forest (random earlier parent), one deep chain, or arbitrary links
    # (self-parents and longer cycles included)
    n_d = draw(_int(1, 7))
    d_ids = [f"{p}d{i}" for i in range(n_d)]
    d_mode = pick(["forest", "chain", "any"])
    departments: dict[str, str | None] = {}
    for i, d in enumerate(d_ids):
        if d_mode == "chain":
            departments[d] = d_ids[i - 1] if i else None
        elif d_mode == "forest":
            departments[d] = maybe(d_ids[:i])
        else:
            departments[d] = maybe(d_ids)

    # roles (some referenced ids will be missing on purpose)
    n_r = draw(_int(0, 5))
    r_ids = [f"{p}r{i}" for i in range(n_r)]
    roles: dict[str, dict[str, Any]] = {}
    for rid in r_ids:
        actions, scopes, fields = {}, {}, {}
        for m in MODULES_T:
            # no entry for the module, an explicitly EMPTY action set, or some actions
            bits = draw(_int(-1, 2 ** len(ACTIONS_T) - 1))
            if bits >= 0:
                actions[m] = {a for k, a in enumerate(ACTIONS_T) if bits >> k & 1}
            sc = maybe(SCOPES_L)
            if sc is not None:
                scopes[m] = sc
            if draw(_int(0, 1)):
                rules = {}
                for f in FIELDS_T:
                    fa = maybe(FIELD_ACCESS_L)
                    if fa is not None:
                        rules[f] = fa
                fields[m] = rules
        roles[rid] = {"is_super": draw(_int(0, 9)) == 0, "actions": actions,
                      "scopes": scopes, "fields": fields}

    # users: supervisors may be missing, self, random (cycles), a ring, or a tree
    n_u = draw(_int(1, 8))
    u_ids = [f"{p}u{i}" for i in range(n_u)]
    u_mode = pick(["random", "ring", "tree"])
    role_pool = r_ids + [f"{p}r_missing"]
    users: dict[str, dict[str, Any]] = {}
    for i, uid in enumerate(u_ids):
        if u_mode == "ring":
            sup = u_ids[(i + 1) % n_u]
        elif u_mode == "tree":
            sup = maybe(u_ids[:i])
        else:
            sup = maybe(u_ids + [f"{p}ghost"])
        users[uid] = {
            "department": pick(d_ids),
            "supervisor": sup,
            "roles": [pick(role_pool) for _ in range(draw(_int(0, 3)))],
            "active": draw(_int(0, 5)) != 0,
        }

    records: list[dict[str, Any]] = []
    if with_records:
        owner_pool = u_ids + [f"{p}ex_user", "zz:other_tenant_user"]
        member_pool = u_ids + [f"{p}ghost"]
        for _ in range(draw(_int(0, 10))):
            owner = pick(owner_pool)
            n_team = draw(_int(-1, 3))  # -1: no team at all
            team = None if n_team < 0 else {}
            for _ in range(max(n_team, 0)):
                g = {"access": pick(["read", "write"])}
                u = draw(_int(-1, len(UNTILS) - 1))  # -1: no 'until' key
                if u >= 0:
                    g["until"] = UNTILS[u]
                team[pick(member_pool)] = g
            records.append({"owner": owner, "team": team})
    return World(p, departments, users, roles, records)


record_data = st.dictionaries(st.sampled_from(FIELDS_T + ["extra"]), st.sampled_from(FIELD_VALUES),
                              max_size=5)


# ---------------------------------------------------------------------------------------
# reference model (first principles, plain data only)
# ---------------------------------------------------------------------------------------
def ref_is_subordinate(w: World, u: str, me: str) -> bool:
    seen = {u}
    cur = w.users[u]["supervisor"]
    while cur is not None and cur in w.users and cur not in seen:
        if cur == me:
            return True
        seen.add(cur)
        cur = w.users[cur]["supervisor"]
    return False


def ref_in_tree(w: World, d: str, mine: str) -> bool:
    if d == mine:
        return True
    seen = {d}
    cur = w.departments.get(d)
    while cur is not None and cur not in seen:
        if cur == mine:
            return True
        seen.add(cur)
        cur = w.departments.get(cur)
    return False


def ref_roles(w: World, uid: str) -> list[dict[str, Any]]:
    """An unknown or disabled user holds no roles at all."""
    u = w.users.get(uid)
    if u is None or not u["active"]:
        return []
    return [w.roles[r] for r in u["roles"] if r in w.roles]


def ref_super(w: World, uid: str) -> bool:
    return any(r["is_super"] for r in ref_roles(w, uid))


def ref_roles_with_actions(w: World, uid: str, module: str) -> list[dict[str, Any]]:
    return [r for r in ref_roles(w, uid) if len(r["actions"].get(module, ())) > 0]


def ref_owners(w: World, uid: str, module: str) -> set[str] | None:
    if ref_super(w, uid):
        return None
    scopes = {r["scopes"][module] for r in ref_roles_with_actions(w, uid, module) if module in r["scopes"]}
    if Scope.ALL in scopes:
        return None
    if uid not in w.users:
        return set()
    me = w.users[uid]
    out: set[str] = set()
    for oid, o in w.users.items():
        if Scope.SELF in scopes and oid == uid:
            out.add(oid)
        if Scope.SELF_AND_SUBORDINATES in scopes and (oid == uid or ref_is_subordinate(w, oid, uid)):
            out.add(oid)
        if Scope.DEPARTMENT in scopes and o["department"] == me["department"]:
            out.add(oid)
        if Scope.DEPARTMENT_TREE in scopes and ref_in_tree(w, o["department"], me["department"]):
            out.add(oid)
    return out


def ref_record_access(w: World, uid: str, module: str, owner: str, team: dict | None, now: str) -> str | None:
    u = w.users.get(uid)
    if u is None or not u["active"]:
        return None
    owners = ref_owners(w, uid, module)
    if owners is None or owner in owners:
        return "write"
    g = (team or {}).get(uid)
    if g is not None and (g.get("until") is None or g["until"] > now):
        if g.get("access") == "write":
            return "write"
        if g.get("access") == "read":
            return "read"
    return None


def ref_can(w: World, uid: str, module: str, action: str) -> bool:
    u = w.users.get(uid)
    if u is None or not u["active"]:
        return False
    return ref_super(w, uid) or any(action in r["actions"].get(module, ()) for r in ref_roles(w, uid))


def ref_field(w: World, uid: str, module: str, f: str) -> FieldAccess:
    if ref_super(w, uid):
        return FieldAccess.EDIT
    rs = ref_roles_with_actions(w, uid, module)
    if not rs:
        return FieldAccess.HIDDEN
    rules = [r["fields"].get(module, {}).get(f, FieldAccess.EDIT) for r in rs]
    return max(rules, key=lambda a: ORDER[a])


def ref_shape(w: World, uid: str, module: str, data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in data.items():
        a = ref_field(w, uid, module, k)
        if a == FieldAccess.HIDDEN:
            continue
        out[k] = mask(v) if a == FieldAccess.MASKED else v
    return out


def principals(w: World, org: OrgSnapshot) -> list[Principal]:
    ids = list(w.users) + [f"{w.prefix}nobody"]  # a user id absent from the snapshot too
    return [Principal(org.tenant_id, uid, org) for uid in ids]


def raises(fn, exc) -> bool:
    try:
        fn()
    except exc:
        return True
    return False


# ---------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------
@settings(**PROFILE)
@given(w=worlds())
def test_given_random_org_when_user_lists_then_sees_exactly_scope(w: World) -> None:
    org = w.snapshot()
    for pr in principals(w, org):
        for m in MODULES_T:
            expected_any = {i for i, r in enumerate(w.records)
                            if ref_record_access(w, pr.user_id, m, r["owner"], r["team"], NOW) is not None}
            expected_write = {i for i, r in enumerate(w.records)
                              if ref_record_access(w, pr.user_id, m, r["owner"], r["team"], NOW) == "write"}
            got = {i: pr.record_access(m, r["owner"], r["team"], NOW) for i, r in enumerate(w.records)}
            assert {i for i, a in got.items() if a is not None} == expected_any, (pr.user_id, m)
            assert {i for i, a in got.items() if a == "write"} == expected_write, (pr.user_id, m)
            for i, r in enumerate(w.records):
                assert got[i] == ref_record_access(w, pr.user_id, m, r["owner"], r["team"], NOW), (pr.user_id, m, r)


@settings(**PROFILE)
@given(w=worlds(with_records=False))
def test_given_random_org_when_visible_owners_then_equals_reference_owner_set(w: World) -> None:
    org = w.snapshot()
    for pr in principals(w, org):
        for m in MODULES_T:
            expected = ref_owners(w, pr.user_id, m)
            got = pr.visible_owners(m)
            assert got == expected, (pr.user_id, m, got, expected)


@settings(**PROFILE)
@given(w=worlds(with_records=False))
def test_given_random_org_when_checking_actions_then_can_matches_reference(w: World) -> None:
    org = w.snapshot()
    for pr in principals(w, org):
        for m in MODULES_T + ["audit"]:
            for a in ACTIONS_T + ["approve"]:
                expected = ref_can(w, pr.user_id, m, a)
                assert pr.can(m, a) is expected, (pr.user_id, m, a)
                assert raises(lambda: pr.require(m, a), Forbidden) is (not expected)


@settings(**PROFILE)
@given(w=worlds())
def test_given_random_org_when_requiring_record_then_action_and_access_both_needed(w: World) -> None:
    org = w.snapshot()
    for pr in principals(w, org):
        for m in MODULES_T:
            for r in w.records:
                access = ref_record_access(w, pr.user_id, m, r["owner"], r["team"], NOW)
                for a in ("read", "update", "export", "delete"):
                    # no action: 403; a record they may not read: as a missing one (404); read-only access to a write: 403
                    if not ref_can(w, pr.user_id, m, a) or (access == "read" and a not in READ_ONLY_ACTIONS):
                        want = Forbidden
                    elif access is None:
                        want = NotFound
                    else:
                        want = None
                    try:
                        pr.require_record(m, a, r["owner"], r["team"], NOW)
                        got = None
                    except (Forbidden, NotFound) as e:
                        got = type(e)
                    assert got is want, (pr.user_id, m, a, r)


@settings(**PROFILE)
@given(w=worlds(with_records=False), rec=record_data)
def test_given_random_field_rules_when_shaping_then_hidden_dropped_and_masked_masked(w: World, rec) -> None:
    org = w.snapshot()
    for pr in principals(w, org):
        for m in MODULES_T:
            for f in FIELDS_T + ["extra"]:
                assert pr.field_access(m, f) == ref_field(w, pr.user_id, m, f), (pr.user_id, m, f)
            assert pr.shape(m, rec) == ref_shape(w, pr.user_id, m, rec), (pr.user_id, m)
            not_editable = sorted(f for f in rec if ref_field(w, pr.user_id, m, f) != FieldAccess.EDIT)
            assert raises(lambda: pr.require_writable(m, list(rec)), ValidationFailed) is bool(not_editable)


@settings(**PROFILE)
@given(a=worlds(prefix="a:", with_records=False), b=worlds(prefix="b:"))
def test_given_two_tenants_when_user_of_a_lists_then_never_sees_b_owners(a: World, b: World) -> None:
    org_a = a.snapshot()
    a_users = set(a.users)
    for pr in principals(a, org_a):
        for m in MODULES_T:
            owners = pr.visible_owners(m)
            if owners is None:
                # only a super admin or an effective ALL scope may span the tenant
                assert ref_owners(a, pr.user_id, m) is None
                continue
            assert owners <= a_users, (pr.user_id, m, owners - a_users)
            for r in b.records:  # b's teams only name b's users
                assert pr.record_access(m, r["owner"], r["team"], NOW) is None, (pr.user_id, m, r)


# ---------------------------------------------------------------------------------------
# example-based edge cases
# ---------------------------------------------------------------------------------------
def _org(users: list[OrgUser], roles: list[Role], departments: dict[str, str | None] | None = None) -> OrgSnapshot:
    return OrgSnapshot("t1", departments or {"d1": None}, {u.id: u for u in users}, {r.id: r for r in roles})


def test_given_team_grant_expiring_exactly_now_when_accessing_then_no_access() -> None:
    org = _org([OrgUser("me", "d1"), OrgUser("boss", "d1")], [])
    me = Principal("t1", "me", org)
    assert me.record_access("customers", "boss", {"me": {"access": "write", "until": NOW}}, NOW) is None
    assert me.record_access("customers", "boss", {"me": {"access": "read", "until": "2024-06-01T12:00:01Z"}},
                            NOW) == "read"
    assert me.record_access("customers", "boss", {"me": {"access": "write", "until": None}}, NOW) == "write"
    assert me.record_access("customers", "boss", {"me": {"access": "write", "until": "2024-06-01T11:59:59Z"}},
                            NOW) is None


def test_given_disabled_user_when_acting_then_can_do_nothing() -> None:
    boss = Role("boss", is_super=True)
    full = Role("full", actions={m: frozenset(ACTIONS_T) for m in MODULES_T},
                scopes={m: Scope.ALL for m in MODULES_T})
    org = _org([OrgUser("off", "d1", role_ids=("boss", "full"), active=False)], [boss, full])
    off = Principal("t1", "off", org)
    for m in MODULES_T:
        for a in ACTIONS_T:
            assert off.can(m, a) is False
            with pytest.raises(Forbidden):
                off.require(m, a)
            with pytest.raises(Forbidden):
                off.require_record(m, a, "off", None, NOW)


def test_given_user_without_roles_when_listing_then_sees_nothing() -> None:
    org = _org([OrgUser("me", "d1"), OrgUser("peer", "d1", supervisor_id="me")], [])
    me = Principal("t1", "me", org)
    for m in MODULES_T:
        assert me.visible_owners(m) == set()
        assert me.record_access(m, "me", None, NOW) is None
        assert me.record_access(m, "peer", None, NOW) is None
        assert not any(me.can(m, a) for a in ACTIONS_T)
        assert me.field_access(m, "name") is FieldAccess.HIDDEN
        assert me.shape(m, {"name": "x", "mobile": "13812341234"}) == {}


def test_given_scope_without_actions_when_listing_then_scope_ignored() -> None:
    r = Role("r", actions={"customers": frozenset({"list"})}, scopes={"customers": Scope.SELF, "org": Scope.ALL})
    org = _org([OrgUser("me", "d1", role_ids=("r",)), OrgUser("x", "d1")], [r])
    me = Principal("t1", "me", org)
    assert me.visible_owners("customers") == {"me"}
    assert me.visible_owners("org") == set()


def test_given_mobile_and_email_when_masked_then_standard_masks() -> None:
    assert mask("13812341234") == "138****1234"
    assert mask("a@x.com") == "a****@x.com"
    assert mask("abc@x.com") == "a****@x.com"
    assert mask(None) is None
    assert mask("") == ""


def test_given_long_supervisor_and_department_cycles_when_resolving_scope_then_terminates_fast() -> None:
    n = 2000
    depts = {f"d{i}": f"d{(i + 1) % n}" for i in range(n)}  # one big department cycle
    role = Role("r", actions={"customers": frozenset({"list"})}, scopes={"customers": Scope.SELF_AND_SUBORDINATES})
    role_t = Role("t", actions={"org": frozenset({"list"})}, scopes={"org": Scope.DEPARTMENT_TREE})
    users = [OrgUser(f"u{i}", f"d{i}", supervisor_id=f"u{(i + 1) % n}", role_ids=("r", "t")) for i in range(n)]
    users.append(OrgUser("loop", "d0", supervisor_id="loop", role_ids=("r",)))
    org = _org(users, [role, role_t], depts)
    start = time.monotonic()
    everyone = {f"u{i}" for i in range(n)}
    assert Principal("t1", "u0", org).visible_owners("customers") == everyone
    assert Principal("t1", "u0", org).visible_owners("org") == everyone | {"loop"}
    assert Principal("t1", "loop", org).visible_owners("customers") == {"loop"}
    assert time.monotonic() - start < 5


def test_given_role_with_empty_action_set_when_listing_then_its_scope_and_fields_do_not_count() -> None:
    r = Role("r", actions={"customers": frozenset()}, scopes={"customers": Scope.ALL},
             fields={"customers": {"mobile": FieldAccess.READ}})
    org = _org([OrgUser("me", "d1", role_ids=("r",)), OrgUser("x", "d1")], [r])
    me = Principal("t1", "me", org)
    assert me.can("customers", "list") is False
    assert me.visible_owners("customers") == set()
    assert me.record_access("customers", "x", None, NOW) is None
    assert me.field_access("customers", "mobile") is FieldAccess.HIDDEN
    assert me.shape("customers", {"mobile": "13812341234"}) == {}


def test_given_team_grant_with_unknown_access_when_accessing_then_no_access() -> None:
    org = _org([OrgUser("me", "d1"), OrgUser("boss", "d1")], [])
    me = Principal("t1", "me", org)
    for grant in ({"access": "none"}, {"access": None}, {"until": None}, {"access": "READ"}):
        assert me.record_access("customers", "boss", {"me": grant}, NOW) is None, grant
