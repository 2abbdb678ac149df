"""HTTP routes of custom objects (数据自定义表单): their definitions (admins), their records
(the engine's standard routes, under /v1/objects/{object}/records), and the metadata of
every record type, standard and custom, for clients that draw forms and lists from it."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..core.errors import NotFound
from ..engine import attachments
from ..engine import service as engine
from ..engine.models import TeamIn, TimelineOut, TimelineQuery, TransferIn
from ..search.schemas import ListQuery
from . import service

APPROVALS = LazyModels("chalicelib.approvals.schemas")  # models built on first use: the cold start does not pay for them
files = LazyModels("chalicelib.files.schemas")

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "objects"
RECORDS = "/objects/{object}/records"


@route(bp, "/objects", summary="Custom objects I may use (admins: every one)", tag=TAG, response=s.ObjectList)
def list_objects(req: ApiRequest) -> dict:
    return {"items": service.list_objects()}


@route(bp, "/objects", "POST", summary="Define a custom object (admin): fields, references, detail tables, reminders, role grants",
       tag=TAG, body=s.ObjectIn, response=s.ObjectOut, status=201)
def create_object(req: ApiRequest) -> dict:
    return service.create(req.body.model_dump(mode="json"))


@route(bp, "/objects/{object}", summary="One custom object's definition", tag=TAG, response=s.ObjectOut)
def get_object(req: ApiRequest, object: str) -> dict:  # noqa: A002 - the path's name
    return service.get_object(object)


@route(bp, "/objects/{object}", "PATCH", summary="Change a custom object (admin): add fields, labels, hide it", tag=TAG,
       body=s.ObjectPatch, response=s.ObjectOut, versioned_write=True)
def update_object(req: ApiRequest, object: str) -> dict:  # noqa: A002
    values = req.body.model_dump(mode="json", exclude_unset=True, exclude={"version"})
    return service.update(object, values, req.expected_version(req.body.version))


@route(bp, RECORDS, "POST", summary="Create a record of a custom object", tag=TAG, body=s.RecordIn, response=s.RecordOut, status=201,
       idempotent_create=True)
def create_record(req: ApiRequest, object: str) -> dict:  # noqa: A002
    return engine.create(service.require(object), req.body.model_dump(exclude_unset=True), req.idempotency_key)


@route(bp, RECORDS, summary="Records of a custom object within my data scope: search, filters, sort, facets", tag=TAG,
       query=ListQuery, response=s.RecordPage)
def list_records(req: ApiRequest, object: str) -> dict:  # noqa: A002
    return engine.list_records(service.require(object), req.query.params())


@route(bp, RECORDS + "/{record_id}", summary="One record of a custom object", tag=TAG, response=s.RecordOut)
def get_record(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    return engine.get(service.require(object), record_id)


@route(bp, RECORDS + "/{record_id}", "PATCH", summary="Change a record of a custom object", tag=TAG, body=s.RecordPatch,
       response=s.RecordOut, versioned_write=True)
def update_record(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return engine.update(service.require(object), record_id, changes, req.expected_version(req.body.version))


@route(bp, RECORDS + "/{record_id}", "DELETE", summary="Move a record of a custom object to the recycle bin", tag=TAG, status=204,
       versioned_write=True)
def delete_record(req: ApiRequest, object: str, record_id: str) -> None:  # noqa: A002
    engine.delete(service.require(object), record_id, req.expected_version())


@route(bp, RECORDS + "/{record_id}/transfer", "POST", summary="Transfer a record of a custom object (转移)", tag=TAG,
       body=TransferIn, response=s.RecordOut, versioned_write=True)
def transfer_record(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    b = req.body
    return engine.transfer(service.require(object), record_id, b.to_user_id, b.keep_previous_owner_as, req.expected_version(b.version),
                           b.cascade)


@route(bp, RECORDS + "/{record_id}/team", "PUT", summary="Set the team of a record of a custom object (相关团队)", tag=TAG,
       body=TeamIn, response=s.RecordOut, versioned_write=True)
def set_team(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    members = [m.model_dump() for m in req.body.members]
    return engine.set_team(service.require(object), record_id, members, req.expected_version(req.body.version))


@route(bp, RECORDS + "/{record_id}/submit", "POST", summary="Submit a record of a custom object for approval (提交审批)", tag=TAG,
       body=APPROVALS.SubmitOptions, response=s.RecordOut)
def submit_record(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    return engine.submit(service.require(object), record_id, req.body.model_dump(mode="json"))


@route(bp, RECORDS + "/{record_id}/related", summary="A record of a custom object with every related list I may read", tag=TAG,
       response=s.RelatedOut)
def related(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    return engine.related(service.require(object), record_id)


@route(bp, RECORDS + "/{record_id}/attachments", "POST", summary="Attach a file I uploaded to a record of a custom object (附件)",
       tag=TAG, body=files.AttachIn, response=files.AttachmentOut, status=201)
def attach(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    return attachments.attach(service.require(object), record_id, req.body.file_id)


@route(bp, RECORDS + "/{record_id}/attachments", summary="Attachments of a record of a custom object, with download links",
       tag=TAG, query=files.PageQuery, response=files.AttachmentPage)
def list_attachments(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    return attachments.list_attachments(service.require(object), record_id, req.query.limit, req.query.cursor)


@route(bp, RECORDS + "/{record_id}/attachments/{file_id}", "DELETE", summary="Remove an attachment of a record of a custom object",
       tag=TAG, status=204)
def detach(req: ApiRequest, object: str, record_id: str, file_id: str) -> None:  # noqa: A002
    attachments.detach(service.require(object), record_id, file_id)


@route(bp, RECORDS + "/{record_id}/timeline", summary="A custom-object record's history: log, related records, approvals, "
       "attachments", tag=TAG, query=TimelineQuery, response=TimelineOut)
def timeline(req: ApiRequest, object: str, record_id: str) -> dict:  # noqa: A002
    return engine.timeline(service.require(object), record_id, req.query.limit)


@route(bp, "/meta/records", summary="Every record type I may use (standard and custom): fields, relations, actions, my rights",
       tag=TAG, response=s.RecordTypeList)
def record_types(req: ApiRequest) -> dict:
    return {"items": service.metadata()}


@route(bp, "/meta/records/{type}", summary="One record type's metadata", tag=TAG, response=s.RecordTypeMeta)
def record_type(req: ApiRequest, type: str) -> dict:  # noqa: A002
    items = service.metadata(type)
    if not items:
        raise NotFound("entity.custom_object")
    return items[0]
