"""HTTP routes of the organisation module (组织机构, 员工, 角色)."""
from __future__ import annotations

from chalice import Blueprint

from ..core import context
from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "org"


@route(bp, "/auth/login", "POST", summary="Sign in with mobile + password (local identity provider)", tag="auth",
       body=s.LoginIn, response=s.TokenOut, public=True)
def login(req: ApiRequest) -> dict:
    """In AWS, clients sign in with Cognito; this route exists for the local identity provider."""
    return service.login(req.body.tenant_id, req.body.mobile, req.body.password)


@route(bp, "/me", summary="Who am I: profile, permissions and data scopes", tag=TAG, response=s.MeOut)
def me(req: ApiRequest) -> dict:
    return service.me()


@route(bp, "/me/sessions/revoke", "POST", summary="Sign out everywhere", tag=TAG, status=204)
def revoke_my_sessions(req: ApiRequest) -> None:
    service.revoke_sessions(context.current().user_id)


@route(bp, "/org/departments", summary="Department tree (flat, with parent ids)", tag=TAG, response=s.DepartmentList)
def list_departments(req: ApiRequest) -> dict:
    return {"items": service.list_departments()}


@route(bp, "/org/departments", "POST", summary="Create a department", tag=TAG, body=s.DepartmentIn, response=s.DepartmentOut, status=201)
def create_department(req: ApiRequest) -> dict:
    b = req.body
    return service.create_department(b.name, b.parent_id, b.head_user_id, b.sort_order)


@route(bp, "/org/departments/{dept_id}", "PATCH", summary="Rename / change head or order", tag=TAG, body=s.DepartmentPatch,
       response=s.DepartmentOut, versioned_write=True)
def update_department(req: ApiRequest, dept_id: str) -> dict:
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update_department(dept_id, changes, req.expected_version(req.body.version))


@route(bp, "/org/departments/{dept_id}/move", "POST", summary="Move a department under another", tag=TAG, body=s.DepartmentMove,
       response=s.DepartmentOut, versioned_write=True)
def move_department(req: ApiRequest, dept_id: str) -> dict:
    return service.move_department(dept_id, req.body.parent_id, req.expected_version(req.body.version))


@route(bp, "/org/departments/{dept_id}", "DELETE", summary="Delete an empty department", tag=TAG, status=204, versioned_write=True)
def delete_department(req: ApiRequest, dept_id: str) -> None:
    service.delete_department(dept_id, req.expected_version())


@route(bp, "/org/users", summary="Users (员工)", tag=TAG, query=s.UserQuery, response=s.UserList)
def list_users(req: ApiRequest) -> dict:
    q = req.query
    items, nxt = service.list_users(q.department_id, q.status, q.q, q.limit, q.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/org/users", "POST", summary="Create a user with a mobile login", tag=TAG, body=s.UserIn, response=s.UserOut, status=201)
def create_user(req: ApiRequest) -> dict:
    return service.create_user(req.body.model_dump())


@route(bp, "/org/users/{user_id}", summary="One user", tag=TAG, response=s.UserOut)
def get_user(req: ApiRequest, user_id: str) -> dict:
    return service.shaped_user(service.get_user(user_id))


@route(bp, "/org/users/{user_id}", "PATCH", summary="Change a user's profile, department, supervisor or roles", tag=TAG,
       body=s.UserPatch, response=s.UserOut, versioned_write=True)
def update_user(req: ApiRequest, user_id: str) -> dict:
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update_user(user_id, changes, req.expected_version(req.body.version))


@route(bp, "/org/users/{user_id}/disable", "POST", summary="Disable a user (users are never deleted)", tag=TAG, response=s.UserOut)
def disable_user(req: ApiRequest, user_id: str) -> dict:
    return service.set_user_status(user_id, False)


@route(bp, "/org/users/{user_id}/enable", "POST", summary="Enable a user", tag=TAG, response=s.UserOut)
def enable_user(req: ApiRequest, user_id: str) -> dict:
    return service.set_user_status(user_id, True)


@route(bp, "/org/users/{user_id}/password", "POST", summary="Reset a user's password (admin, 密码恢复)", tag=TAG, body=s.PasswordReset, status=204)
def reset_password(req: ApiRequest, user_id: str) -> None:
    service.reset_password(user_id, req.body.password)


@route(bp, "/org/users/{user_id}/sessions/revoke", "POST", summary="End all sessions of a user", tag=TAG, status=204)
def revoke_sessions(req: ApiRequest, user_id: str) -> None:
    service.revoke_sessions(user_id)


@route(bp, "/org/users/{user_id}/handover", "POST", summary="Hand over a leaving user's records (交接)", tag=TAG,
       body=s.HandoverIn, response=s.HandoverOut)
def handover(req: ApiRequest, user_id: str) -> dict:
    return service.handover_user(user_id, req.body.to_user_id, req.body.disable)


@route(bp, "/org/roles", summary="Roles and their permissions", tag=TAG, response=s.RoleList)
def list_roles(req: ApiRequest) -> dict:
    return {"items": service.list_roles()}


@route(bp, "/org/roles", "POST", summary="Create a role", tag=TAG, body=s.RoleIn, response=s.RoleOut, status=201)
def create_role(req: ApiRequest) -> dict:
    return service.create_role(req.body.model_dump(mode="json"))


@route(bp, "/org/roles/{role_id}", "PATCH", summary="Change a role", tag=TAG, body=s.RolePatch, response=s.RoleOut, versioned_write=True)
def update_role(req: ApiRequest, role_id: str) -> dict:
    changes = req.body.model_dump(mode="json", exclude_unset=True, exclude={"version"})
    return service.update_role(role_id, changes, req.expected_version(req.body.version))


@route(bp, "/org/roles/{role_id}", "DELETE", summary="Delete an unused role", tag=TAG, status=204, versioned_write=True)
def delete_role(req: ApiRequest, role_id: str) -> None:
    service.delete_role(role_id, req.expected_version())
