"""HTTP routes of custom forms and OA applications (自定义表单 / 办公审批)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "forms"


@route(bp, "/forms", summary="Forms I may fill in (admins: every form)", tag=TAG, response=s.FormList)
def list_forms(req: ApiRequest) -> dict:
    return {"items": service.list_forms()}


@route(bp, "/forms", "POST", summary="Design a form (表单设计)", tag=TAG, body=s.FormIn, response=s.FormOut, status=201)
def create_form(req: ApiRequest) -> dict:
    b = req.body
    return service.create_form(b.model_dump(exclude={"flow_id", "enabled"}, mode="json"), b.flow_id, b.enabled)


@route(bp, "/forms/templates", summary="Built-in OA forms: 请假, 加班, 出差, 报销, 借款, 采购, 资产, 立项, 合同会签, 公文",
       tag=TAG, response=s.FormTemplateList)
def list_templates(req: ApiRequest) -> dict:
    from . import templates  # imported when used: keeps every other route's cold start short

    return {"items": templates.catalogue()}


@route(bp, "/forms/templates/{code}", "POST", summary="Create a form and its enabled approval flow from a template", tag=TAG,
       response=s.FormOut, status=201)
def from_template(req: ApiRequest, code: str) -> dict:
    return service.from_template(code)


@route(bp, "/forms/{form_id}", summary="One form", tag=TAG, response=s.FormOut)
def get_form(req: ApiRequest, form_id: str) -> dict:
    return service.get_form(form_id)


@route(bp, "/forms/{form_id}", "PATCH", summary="Change a form, bind it to a flow, enable or disable it", tag=TAG, body=s.FormPatch,
       response=s.FormOut, versioned_write=True)
def update_form(req: ApiRequest, form_id: str) -> dict:
    values = req.body.model_dump(exclude_unset=True, exclude={"version"}, mode="json")
    return service.update_form(form_id, values, req.expected_version(req.body.version))


@route(bp, "/applications", summary="My applications (我的申请)", tag=TAG, query=s.ApplicationQuery, response=s.ApplicationPage)
def list_applications(req: ApiRequest) -> dict:
    q = req.query
    return service.list_mine(q.form_id, q.limit, q.cursor)


@route(bp, "/applications", "POST", summary="Fill in a form and submit it for approval (or keep a draft)", tag=TAG,
       body=s.ApplicationIn, response=s.ApplicationOut, status=201)
def create_application(req: ApiRequest) -> dict:
    return service.create_application(req.body.model_dump(mode="json"))


@route(bp, "/applications/{app_id}", summary="One application", tag=TAG, response=s.ApplicationOut)
def get_application(req: ApiRequest, app_id: str) -> dict:
    return service.get_application(app_id)


@route(bp, "/applications/{app_id}", "PATCH", summary="Change a draft, rejected or withdrawn application", tag=TAG,
       body=s.ApplicationPatch, response=s.ApplicationOut, versioned_write=True)
def update_application(req: ApiRequest, app_id: str) -> dict:
    return service.update_application(app_id, req.body.data, req.expected_version(req.body.version))


@route(bp, "/applications/{app_id}/submit", "POST", summary="Submit a draft, or resubmit after rejection/withdrawal", tag=TAG,
       body=s.ApplicationSubmitIn, response=s.ApplicationOut)
def submit_application(req: ApiRequest, app_id: str) -> dict:
    return service.submit_application(app_id, req.body.model_dump(mode="json"))


@route(bp, "/applications/{app_id}/archive", "POST", summary="Archive an approved official document (归档)", tag=TAG,
       body=s.DocumentActionIn, response=s.ApplicationOut)
def archive(req: ApiRequest, app_id: str) -> dict:
    return service.document_action(app_id, "archive", req.body.reason, req.body.version)


@route(bp, "/applications/{app_id}/destroy", "POST", summary="Destroy an official document's content (销毁)", tag=TAG,
       body=s.DocumentActionIn, response=s.ApplicationOut)
def destroy(req: ApiRequest, app_id: str) -> dict:
    return service.document_action(app_id, "destroy", req.body.reason, req.body.version)
