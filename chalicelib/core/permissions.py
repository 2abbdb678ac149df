"""The one permissions API: action permissions, data scopes, record teams, field rules.

Everything here is pure: it works on an `OrgSnapshot` (departments, users, roles of one
tenant) and a record's access facts (owner, team). Services call it; handlers never do.

Data scopes (数据权限), per role and module:
  SELF 本人 · SELF_AND_SUBORDINATES 本人及下属 (the supervisor chain, transitively) ·
  DEPARTMENT 本部门 (users of my department) · DEPARTMENT_TREE 本部门及下属部门 (users of my
  department and every department below it) · ALL 全部.
A user's effective scope in a module is the union of what their roles grant ("the widest
role wins"); a super administrator has ALL everywhere and every action.

Record teams (相关团队) widen access per record: a member with `read` may read, with
`write` may also change; a grant with `until` in the past counts for nothing.

Field rules per role and module field: hidden < masked < read < edit; the widest rule
among the user's roles wins and a role without a rule for a field grants edit.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .errors import Forbidden, ValidationFailed


class Scope(str, Enum):
    SELF = "self"
    SELF_AND_SUBORDINATES = "self_and_subordinates"
    DEPARTMENT = "department"
    DEPARTMENT_TREE = "department_tree"
    ALL = "all"


SCOPE_LABELS = {
    Scope.SELF: "本人", Scope.SELF_AND_SUBORDINATES: "本人及下属", Scope.DEPARTMENT: "本部门",
    Scope.DEPARTMENT_TREE: "本部门及下属部门", Scope.ALL: "全部",
}

# action permissions per module (模块操作权限)
ACTIONS = {
    "create": "新建", "update": "编辑", "list": "查看列表", "read": "查看详情", "delete": "删除",
    "import": "导入", "export": "导出", "transfer": "转移", "pool": "放入公海", "lock": "锁定/解锁",
    "team": "编辑团队成员", "approve": "审批", "shelf": "上下架", "print": "打印", "manage": "管理", "convert": "转化",
}

MODULES = {
    "customers": "客户", "org": "组织机构", "roles": "角色权限", "dictionaries": "数据字典",
    "numbering": "编号规则", "audit": "操作日志", "recyclebin": "回收站", "reminders": "提醒",
    "fields": "自定义字段", "search": "搜索与场景", "approvals": "审批流程", "forms": "办公审批",
}


class FieldAccess(int, Enum):
    HIDDEN = 0
    MASKED = 1
    READ = 2
    EDIT = 3


@dataclass(frozen=True)
class Role:
    id: str
    name: str = ""
    is_super: bool = False
    actions: Mapping[str, frozenset[str]] = field(default_factory=dict)  # module -> actions
    scopes: Mapping[str, Scope] = field(default_factory=dict)  # module -> scope
    fields: Mapping[str, Mapping[str, FieldAccess]] = field(default_factory=dict)  # module -> field -> access


@dataclass(frozen=True)
class OrgUser:
    id: str
    department_id: str
    supervisor_id: str | None = None
    role_ids: tuple[str, ...] = ()
    active: bool = True


@dataclass
class OrgSnapshot:
    tenant_id: str
    departments: dict[str, str | None]  # id -> parent id
    users: dict[str, OrgUser]
    roles: dict[str, Role]
    _children: dict[str, list[str]] | None = None
    _reports: dict[str, list[str]] | None = None

    def children(self) -> dict[str, list[str]]:
        if self._children is None:
            kids: dict[str, list[str]] = {d: [] for d in self.departments}
            for d, parent in self.departments.items():
                if parent is not None and parent in kids:
                    kids[parent].append(d)
            self._children = kids
        return self._children

    def direct_reports(self) -> dict[str, list[str]]:
        if self._reports is None:
            reports: dict[str, list[str]] = {u: [] for u in self.users}
            for u in self.users.values():
                if u.supervisor_id in reports and u.supervisor_id != u.id:
                    reports[u.supervisor_id].append(u.id)
            self._reports = reports
        return self._reports

    def department_tree(self, department_id: str) -> set[str]:
        out, stack = set(), [department_id]
        kids = self.children()
        while stack:
            d = stack.pop()
            if d in out:
                continue
            out.add(d)
            stack.extend(kids.get(d, ()))
        return out

    def subordinates(self, user_id: str) -> set[str]:
        """Everyone below `user_id` in the supervisor chain (not including them)."""
        out: set[str] = set()
        stack = list(self.direct_reports().get(user_id, ()))
        while stack:
            u = stack.pop()
            if u in out or u == user_id:
                continue
            out.add(u)
            stack.extend(self.direct_reports().get(u, ()))
        return out

    def users_in(self, departments: set[str]) -> set[str]:
        return {u.id for u in self.users.values() if u.department_id in departments}


ALL_OWNERS = None  # sentinel: the whole tenant


@dataclass
class Principal:
    """A signed-in user as the permission rules see them."""

    tenant_id: str
    user_id: str
    org: OrgSnapshot

    @property
    def user(self) -> OrgUser:
        return self.org.users[self.user_id]

    @property
    def roles(self) -> list[Role]:
        """The user's roles; none at all for an unknown or disabled user."""
        u = self.org.users.get(self.user_id)
        if u is None or not u.active:
            return []
        return [self.org.roles[r] for r in u.role_ids if r in self.org.roles]

    def _module_roles(self, module: str) -> list[Role]:
        """Roles that grant at least one action in `module` (only those carry scopes and field rules)."""
        return [r for r in self.roles if r.actions.get(module)]

    @property
    def is_super(self) -> bool:
        return any(r.is_super for r in self.roles)

    # ---- actions ----------------------------------------------------------------------
    def can(self, module: str, action: str) -> bool:
        if self.user_id not in self.org.users or not self.user.active:
            return False
        return self.is_super or any(action in r.actions.get(module, ()) for r in self.roles)

    def require(self, module: str, action: str) -> None:
        if not self.can(module, action):
            raise Forbidden(module=f"module.{module}", action=f"action.{action}",
                            details={"module": module, "action": action})

    # ---- data scope -------------------------------------------------------------------
    def scopes(self, module: str) -> set[Scope]:
        if self.is_super:
            return {Scope.ALL}
        return {r.scopes[module] for r in self._module_roles(module) if module in r.scopes}

    def visible_owners(self, module: str) -> set[str] | None:
        """Owner ids whose records this user may see in `module`; None means all."""
        scopes = self.scopes(module)
        if Scope.ALL in scopes:
            return ALL_OWNERS
        me = self.org.users.get(self.user_id)
        if me is None:
            return set()
        owners: set[str] = set()
        for s in scopes:
            if s is Scope.SELF:
                owners.add(me.id)
            elif s is Scope.SELF_AND_SUBORDINATES:
                owners |= {me.id} | self.org.subordinates(me.id)
            elif s is Scope.DEPARTMENT:
                owners |= self.org.users_in({me.department_id})
            elif s is Scope.DEPARTMENT_TREE:
                owners |= self.org.users_in(self.org.department_tree(me.department_id))
        return owners

    def record_access(self, module: str, owner_id: str, team: Mapping[str, Any] | None, now_iso: str) -> str | None:
        """'write', 'read' or None for one record (owner + team), before action checks."""
        owners = self.visible_owners(module)
        if owners is ALL_OWNERS or owner_id in owners:
            return "write"
        me = self.org.users.get(self.user_id)
        if me is None or not me.active:
            return None
        grant = (team or {}).get(self.user_id)
        if grant and grant.get("access") in ("read", "write") and (not grant.get("until") or grant["until"] > now_iso):
            return grant["access"]
        return None

    def require_record(self, module: str, action: str, owner_id: str, team: Mapping[str, Any] | None, now_iso: str,
                       name_key: str = "entity.record") -> None:
        """The action on one record. A record the caller may not read answers exactly as a missing
        one (404 naming `name_key`), so ids cannot be probed; one they may read but not change is 403."""
        from .errors import Forbidden, NotFound

        self.require(module, action)
        access = self.record_access(module, owner_id, team, now_iso)
        if access is None:
            raise NotFound(name_key)
        if action not in ("read", "list", "export", "print") and access != "write":
            raise Forbidden("RECORD_FORBIDDEN")

    # ---- fields -----------------------------------------------------------------------
    def field_access(self, module: str, field_name: str) -> FieldAccess:
        if self.is_super:
            return FieldAccess.EDIT
        best = FieldAccess.HIDDEN
        roles = self._module_roles(module)
        if not roles:
            return FieldAccess.HIDDEN
        for r in roles:
            rule = r.fields.get(module, {}).get(field_name, FieldAccess.EDIT)
            best = max(best, rule)
        return best

    def shape(self, module: str, data: dict[str, Any]) -> dict[str, Any]:
        """Apply field rules to a record for reading: drop hidden, mask masked."""
        out = {}
        for k, v in data.items():
            access = self.field_access(module, k)
            if access is FieldAccess.HIDDEN:
                continue
            out[k] = mask(v) if access is FieldAccess.MASKED else v
        return out

    def require_writable(self, module: str, field_names: Iterable[str]) -> None:
        denied = sorted(f for f in field_names if self.field_access(module, f) is not FieldAccess.EDIT)
        if denied:
            raise ValidationFailed("FIELD_READ_ONLY", fields=", ".join(denied), details={"fields": denied})


def mask(value: Any) -> Any:
    """138****1234 for phones, a****@x.com for mail, first/last char for the rest."""
    if value is None or value == "":
        return value
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)  # tables, addresses: as text
    if "@" in s:
        name, _, domain = s.partition("@")
        return (name[:1] + "****@" + domain) if name else s
    if len(s) >= 7:
        return s[:3] + "****" + s[-4:]
    if len(s) <= 2:
        return "*" * len(s)
    return s[0] + "*" * (len(s) - 2) + s[-1]
