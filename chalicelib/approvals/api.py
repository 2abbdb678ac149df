"""HTTP routes of approvals (审批): flow definitions, instances and their actions, inboxes."""
from __future__ import annotations

from chalice import Blueprint, Response

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "approvals"


# ---- flows (admin) -------------------------------------------------------------------------------

@route(bp, "/approval-flows", summary="Approval flows (审批流程) of the tenant", tag=TAG, query=s.FlowQuery, response=s.FlowList)
def list_flows(req: ApiRequest) -> dict:
    return {"items": service.list_flows(req.query.business_type)}


@route(bp, "/approval-flows", "POST", summary="Define a flow (version 1)", tag=TAG, body=s.FlowIn, response=s.FlowOut, status=201)
def create_flow(req: ApiRequest) -> dict:
    spec = req.body.model_dump(exclude={"enabled"}, mode="json")
    return service.create_flow(spec, req.body.enabled)


@route(bp, "/approval-flows/templates", summary="Built-in flow templates (流程模板)", tag=TAG, response=s.TemplateList)
def list_templates(req: ApiRequest) -> dict:
    from . import templates  # imported when used: keeps the cold start of every other route short

    return {"items": templates.catalogue()}


@route(bp, "/approval-flows/templates/{code}", "POST", summary="Create a flow from a template", tag=TAG, body=s.FromTemplateIn,
       response=s.FlowOut, status=201)
def from_template(req: ApiRequest, code: str) -> dict:
    from . import templates

    spec = templates.flow_spec(code, business_type=req.body.business_type, name=req.body.name)
    return service.create_flow(spec, False, template=code)


@route(bp, "/approval-flows/{flow_id}", summary="One flow with its current definition", tag=TAG, response=s.FlowOut)
def get_flow(req: ApiRequest, flow_id: str) -> dict:
    return service.get_flow(flow_id)


@route(bp, "/approval-flows/{flow_id}", "PATCH", summary="New version of a flow, enable or disable it", tag=TAG, body=s.FlowPatch,
       response=s.FlowOut, versioned_write=True)
def update_flow(req: ApiRequest, flow_id: str) -> dict:
    b = req.body
    spec = b.spec.model_dump(mode="json") if b.spec is not None else None
    return service.update_flow(flow_id, spec, b.enabled, req.expected_version(b.version))


@route(bp, "/approval-flows/{flow_id}/copy", "POST", summary="Copy a flow (复制), disabled", tag=TAG, body=s.FlowCopyIn,
       response=s.FlowOut, status=201)
def copy_flow(req: ApiRequest, flow_id: str) -> dict:
    return service.copy_flow(flow_id, req.body.name, req.body.business_type)


@route(bp, "/approval-flows/{flow_id}/versions", summary="Every version of a flow", tag=TAG, response=s.FlowVersionList)
def flow_versions(req: ApiRequest, flow_id: str) -> dict:
    return {"items": service.versions(flow_id)}


@route(bp, "/approval-flows/{flow_id}/graph", summary="The flow as a graph: json, mermaid, svg or table (数据表视图)", tag=TAG,
       query=s.GraphQuery)
def flow_graph(req: ApiRequest, flow_id: str):
    from . import graph

    spec = service.spec_of(flow_id, req.query.version)
    fmt = req.query.format
    if fmt == "json":
        return graph.to_graph(spec)
    if fmt == "table":
        return {"items": graph.to_table(spec)}
    if fmt == "mermaid":
        return Response(status_code=200, body=graph.to_mermaid(spec), headers={"Content-Type": "text/plain; charset=utf-8"})
    return Response(status_code=200, body=graph.to_svg(spec), headers={"Content-Type": "image/svg+xml; charset=utf-8"})


# ---- inboxes ------------------------------------------------------------------------------------

@route(bp, "/approvals", summary="My approval inboxes: pending, mine, handled, cc", tag=TAG, query=s.InboxQuery, response=s.InboxPage)
def inbox(req: ApiRequest) -> dict:
    q = req.query
    return service.inbox(q.box, q.limit, q.cursor)


@route(bp, "/approvals/counts", summary="How many in each of my inboxes", tag=TAG, response=s.Counts)
def counts(req: ApiRequest) -> dict:
    return service.counts()


@route(bp, "/approvals/stuck", summary="Approvals waiting only on disabled users (admins: approvals:manage)", tag=TAG,
       response=s.StuckList)
def stuck(req: ApiRequest) -> dict:
    return {"items": service.stuck()}


# ---- one instance -------------------------------------------------------------------------------

@route(bp, "/approvals/{instance_id}", summary="One approval: plan, steps, votes, what I may do", tag=TAG, response=s.InstanceOut)
def get_instance(req: ApiRequest, instance_id: str) -> dict:
    return service.get(instance_id)


@route(bp, "/approvals/{instance_id}/history", summary="The approval history (审批记录)", tag=TAG, response=s.HistoryOut)
def get_history(req: ApiRequest, instance_id: str) -> dict:
    return {"items": service.history(instance_id)}


@route(bp, "/approvals/{instance_id}/approve", "POST", summary="Approve (同意)", tag=TAG, body=s.ActIn, response=s.InstanceOut)
def approve(req: ApiRequest, instance_id: str) -> dict:
    b = req.body
    return service.approve(instance_id, b.comment, [a.model_dump() for a in b.attachments])


@route(bp, "/approvals/{instance_id}/reject", "POST", summary="Reject (拒绝), to the applicant or back to an earlier node (退回)",
       tag=TAG, body=s.RejectIn, response=s.InstanceOut)
def reject(req: ApiRequest, instance_id: str) -> dict:
    b = req.body
    return service.reject(instance_id, b.to, b.node_id, b.comment, [a.model_dump() for a in b.attachments])


@route(bp, "/approvals/{instance_id}/transfer", "POST", summary="Hand my task to another user (转交)", tag=TAG, body=s.TransferIn,
       response=s.InstanceOut)
def transfer(req: ApiRequest, instance_id: str) -> dict:
    return service.transfer(instance_id, req.body.to_user_id, req.body.comment)


@route(bp, "/approvals/{instance_id}/reassign", "POST", summary="Give one person's places on an approval to another (admins)",
       tag=TAG, body=s.ReassignIn, response=s.InstanceOut)
def reassign(req: ApiRequest, instance_id: str) -> dict:
    b = req.body
    return service.reassign(instance_id, b.from_user_id, b.to_user_id, b.comment)


@route(bp, "/approvals/{instance_id}/add-signers", "POST", summary="Add co-approvers to the current node (加签)", tag=TAG,
       body=s.AddSignerIn, response=s.InstanceOut)
def add_signers(req: ApiRequest, instance_id: str) -> dict:
    return service.add_signers(instance_id, req.body.user_ids, req.body.comment)


@route(bp, "/approvals/{instance_id}/comments", "POST", summary="Comment, with attachments (评论)", tag=TAG, body=s.ActIn,
       response=s.InstanceOut)
def comment(req: ApiRequest, instance_id: str) -> dict:
    b = req.body
    return service.comment(instance_id, b.comment, [a.model_dump() for a in b.attachments])


@route(bp, "/approvals/{instance_id}/withdraw", "POST", summary="Withdraw my application (撤回)", tag=TAG, body=s.ActIn,
       response=s.InstanceOut)
def withdraw(req: ApiRequest, instance_id: str) -> dict:
    return service.withdraw(instance_id, req.body.comment)


@route(bp, "/approvals/{instance_id}/urge", "POST", summary="Remind the current approvers (催办)", tag=TAG, response=s.InstanceOut)
def urge(req: ApiRequest, instance_id: str) -> dict:
    return service.urge(instance_id)


@route(bp, "/approvals/{instance_id}/resubmit", "POST", summary="Resubmit after rejection or withdrawal (重新提交)", tag=TAG,
       body=s.ResubmitIn, response=s.InstanceOut)
def resubmit(req: ApiRequest, instance_id: str) -> dict:
    b = req.body
    return service.resubmit(instance_id, b.from_, b.comment)
