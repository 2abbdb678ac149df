"""API contract of approvals (审批): flow definitions, instances, actions, inboxes.

A flow definition (`FlowSpec`) is a tree: a list of nodes, where a `branch` node holds
condition branches that each carry their own node list. At submit time the tree is
resolved against the record and the organisation into a flat plan (plan.py).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from ..core.errors import Problem
from ..core.pagination import Page, PageQuery
from ..core.patch import Patch

NODE_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"
Mode = Literal["sequential", "all", "any", "majority"]  # 依次 / 会签 / 或签 / 半数通过
FlowModel = Literal["fixed", "predefined", "free"]  # 固定 / 预定义 / 自定义
Action = Literal["approve", "reject", "transfer", "add_signer", "comment"]
ALL_ACTIONS: list[str] = ["approve", "reject", "transfer", "add_signer", "comment"]


class _Out(BaseModel):
    # validators are built on first use, not at import (cold start: the API imports every module)
    model_config = ConfigDict(defer_build=True)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class ApproverRule(_Strict):
    """Who approves a node.

    users: named users · supervisor: the applicant's supervisor `level` levels up ·
    supervisor_chain: every supervisor from level 1 up to `level` (连续多级主管, in order) ·
    role: every active user with `role_id` · department_head: head of the applicant's
    department (or `department_id`), climbing to the parent when there is none ·
    applicant_choice: the applicant names them at submit (发起人自选).
    """

    type: Literal["users", "supervisor", "supervisor_chain", "role", "department_head", "applicant_choice"]
    user_ids: list[str] = Field(default_factory=list, max_length=50)
    level: int = Field(1, ge=1, le=10)
    role_id: str | None = None
    department_id: str | None = None
    fallback: Literal["nearest", "skip"] = Field(
        "nearest", description="supervisor N levels up missing: take the highest one there is (nearest) or treat as no approver (skip)")

    @model_validator(mode="after")
    def _needs(self) -> "ApproverRule":
        if self.type == "users" and not self.user_ids:
            raise Problem("approval.users_required", "missing")
        if self.type == "role" and not self.role_id:
            raise Problem("approval.role_required", "missing")
        return self


class BranchCondition(_Strict):
    """`field` is a record/form field (e.g. amount, custom.days) or applicant.department_id / applicant.role_ids."""

    field: str = Field(min_length=1, max_length=80)
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists"]
    value: Any = None


class Branch(_Strict):
    name: str = Field(min_length=1, max_length=60)
    priority: int = Field(0, description="lower runs first; the first branch whose conditions all hold is taken")
    conditions: list[BranchCondition] = Field(default_factory=list, max_length=20, description="empty = default branch (else)")
    nodes: list["NodeSpec"] = Field(default_factory=list, max_length=30)


class NodeSpec(_Strict):
    id: str = Field(pattern=NODE_ID)
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["approve", "notify", "branch"] = "approve"
    approvers: ApproverRule | None = None
    mode: Mode = "any"
    time_limit_hours: float | None = Field(None, gt=0, le=24 * 90, description="处理时限")
    remind_before_hours: float | None = Field(None, gt=0, description="remind the assignees this long before the limit")
    on_timeout: Literal["remind", "escalate", "auto_pass", "auto_reject"] = Field(
        "remind", description="when the limit passes: remind again, escalate to the assignees' supervisors, pass or reject")
    actions: list[Action] = Field(default_factory=lambda: list(ALL_ACTIONS), description="allowed actions at this node")
    branches: list[Branch] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _shape(self) -> "NodeSpec":
        if self.kind == "branch":
            if not self.branches:
                raise Problem("approval.branches_required", "missing")
        elif self.approvers is None:
            raise Problem("approval.users_required", "missing")
        return self




class FlowSpec(_Strict):
    """The content of one version of a flow."""

    name: str = Field(min_length=1, max_length=60)
    business_type: str = Field(pattern=r"^[a-z][A-Za-z0-9_.:-]{0,79}$",
                               description="contract, payment, invoice, quote, or form:<form id>")
    model: FlowModel = "fixed"
    description: str | None = Field(None, max_length=500)
    no_approver: Literal["auto_pass", "admin"] = Field("auto_pass", description="找不到审批人时: 自动通过 or 转交管理员")
    admin_user_ids: list[str] = Field(default_factory=list, max_length=10, description="default: the tenant's super administrators")
    skip_applicant: Literal[True] = Field(True, description="always true: the applicant never approves their own request (segregation "
                                                             "of duties; a node only they could approve goes to their supervisor or the admins)")
    cc_user_ids: list[str] = Field(default_factory=list, max_length=50, description="抄送: copied on the result")
    nodes: list[NodeSpec] = Field(min_length=1, max_length=30)

    @field_validator("nodes")
    @classmethod
    def _unique_ids(cls, nodes: list[NodeSpec]) -> list[NodeSpec]:
        seen: set[str] = set()

        def walk(nodes: list[NodeSpec]) -> None:
            for n in nodes:
                if n.id in seen:
                    raise Problem("approval.node_id_duplicate", "duplicate", id=n.id)
                seen.add(n.id)
                for b in n.branches:
                    walk(b.nodes)

        walk(nodes)
        return nodes


class FlowIn(FlowSpec):
    enabled: StrictBool = False


class FlowPatch(_Strict, Patch):
    spec: FlowSpec = Field(None, description="a new version (running instances keep theirs)")  # type: ignore[assignment]
    enabled: StrictBool = None  # type: ignore[assignment]
    version: int | None = Field(None, description="the flow's current record version (or If-Match)")


class FlowCopyIn(_Strict):
    name: str = Field(min_length=1, max_length=60)
    business_type: str | None = Field(None, pattern=r"^[a-z][A-Za-z0-9_.:-]{0,79}$")


class FromTemplateIn(_Strict):
    business_type: str | None = Field(None, pattern=r"^[a-z][A-Za-z0-9_.:-]{0,79}$")
    name: str | None = Field(None, min_length=1, max_length=60)


class FlowOut(_Out):
    id: str
    name: str
    business_type: str
    model: str
    enabled: bool
    current_version: int
    spec: dict[str, Any]
    created_at: str
    updated_at: str
    version: int


class FlowList(_Out):
    items: list[FlowOut]


class FlowVersionOut(_Out):
    flow_id: str
    number: int
    spec: dict[str, Any]
    created_at: str
    created_by: str


class FlowVersionList(_Out):
    items: list[FlowVersionOut]


class TemplateOut(_Out):
    code: str
    name: str
    business_type: str
    description: str | None = None


class TemplateList(_Out):
    items: list[TemplateOut]


class FlowQuery(BaseModel):
    business_type: str | None = Field(None, max_length=80, description="only the flows of this business type")


class GraphQuery(_Out):
    format: Literal["json", "mermaid", "svg", "table"] = "json"
    version: int | None = Field(None, ge=1, description="a flow version (default: current)")


# ---- submitting and acting ---------------------------------------------------------------

class ExtraNode(_Strict):
    """Free flows (自定义): a node the applicant adds after `after` (or first when null)."""

    after: str | None = None
    name: str = Field(min_length=1, max_length=60)
    user_ids: list[str] = Field(min_length=1, max_length=20)
    mode: Mode = "any"


class SubmitOptions(_Strict):
    approvers: dict[str, list[str]] = Field(default_factory=dict, description="node id -> user ids (发起人自选; predefined/free flows may change any node)")
    extra_nodes: list[ExtraNode] = Field(default_factory=list, max_length=10, description="free flows only")
    cc_user_ids: list[str] = Field(default_factory=list, max_length=50)
    comment: str | None = Field(None, max_length=2000)


class Attachment(_Strict):
    id: str = Field(min_length=1, max_length=64, description="a file you uploaded and confirmed (POST /v1/files); "
                                                             "the history shows its name, size and type")


class ActIn(_Strict):
    comment: str | None = Field(None, max_length=2000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class RejectIn(ActIn):
    to: Literal["applicant", "node"] = Field("applicant", description="退回: to the applicant (ends the round) or an earlier node")
    node_id: str | None = Field(None, description="with to=node: the earlier node to go back to")


class TransferIn(ActIn):
    to_user_id: str


class AddSignerIn(ActIn):
    user_ids: list[str] = Field(min_length=1, max_length=10)


class ReassignIn(_Strict):
    from_user_id: str = Field(min_length=1, max_length=64, description="whose places on the approval's open steps move")
    to_user_id: str = Field(min_length=1, max_length=64, description="an active user, never the applicant")
    comment: str | None = Field(None, max_length=2000)


class StuckOut(_Out):
    instance_id: str
    title: str
    business_type: str
    applicant_id: str
    step: int | None
    step_name: str | None
    waiting_on: list[str]
    since: str | None


class StuckList(_Out):
    items: list[StuckOut]


class ResubmitIn(_Strict):
    from_: Literal["start", "rejected_node"] = Field("start", alias="from", description="重新提交: from the first node or the node that rejected")
    comment: str | None = Field(None, max_length=2000)


class InstanceOut(_Out):
    id: str
    business_type: str
    flow_id: str
    flow_version: int
    record: dict[str, Any]
    title: str
    applicant_id: str
    status: str
    round: int
    current_step: int | None
    steps: list[dict[str, Any]]
    my_actions: list[str]
    cc_user_ids: list[str]
    created_at: str
    updated_at: str
    finished_at: str | None = None
    version: int


class HistoryOut(_Out):
    items: list[dict[str, Any]]


class InboxQuery(PageQuery):
    model_config = ConfigDict(defer_build=True)
    box: Literal["pending", "mine", "handled", "cc"] = Field("pending", description="pending my approval / my applications / handled by me / copied to me")


class InboxPage(Page[dict[str, Any]]):
    model_config = ConfigDict(defer_build=True)


class Counts(_Out):
    pending: int
    mine_running: int
    handled: int
    cc: int
