"""The standard routes of a record type, generated from its definition.

`blueprint(d)` gives create (idempotent), list/search/filter/sort/facets/saved views,
get, patch (versioned), soft delete, transfer, team and attachments under the definition's
path (e.g. /customers), and merge for types that declare duplicate checks. Models are Lazy:
built on the first request or the OpenAPI document.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from ..core.api import ApiRequest, Lazy, LazyModels, route
from ..search.schemas import ListQuery
from . import attachments, merge, models, service
from .definition import EntityDef

PRINT = "print"



APPROVALS = LazyModels("chalicelib.approvals.schemas")  # models built on first use: the cold start does not pay for them
files = LazyModels("chalicelib.files.schemas")
DUPLICATES = LazyModels("chalicelib.duplicates.schemas")
COMMENTS = LazyModels("chalicelib.comments.schemas")

def blueprint(d: EntityDef) -> Blueprint:
    bp = Blueprint(f"{__name__}.{d.name}")
    tag = d.module
    base = d.path
    pid = f"{d.name}_id"
    ident = "{" + pid + "}"
    label = f"{d.label[0]} / {d.label[1]}"

    def m(kind: str) -> Lazy:
        return Lazy(lambda: models.model(d, kind))

    @route(bp, base, "POST", summary=f"Create a record: {label}", tag=tag, body=m("in"), response=m("out"), status=201,
           idempotent_create=True)
    def create(req: ApiRequest) -> dict:
        return service.create(d, req.body.model_dump(exclude_unset=True), req.idempotency_key)

    @route(bp, base, summary=f"{label} within my data scope: search, filters, sort, facets, saved views (index, ~1 s behind)",
           tag=tag, query=ListQuery, response=m("page"))
    def list_records(req: ApiRequest) -> dict:
        return service.list_records(d, req.query.params())

    @route(bp, f"{base}/{ident}", summary=f"One record: {label}", tag=tag, response=m("out"))
    def get(req: ApiRequest, **path: str) -> dict:
        return service.get(d, path[pid])

    @route(bp, f"{base}/{ident}", "PATCH", summary=f"Change a record: {label}", tag=tag, body=m("patch"), response=m("out"),
           versioned_write=True)
    def update(req: ApiRequest, **path: str) -> dict:
        changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
        return service.update(d, path[pid], changes, req.expected_version(req.body.version))

    @route(bp, f"{base}/{ident}", "DELETE", summary=f"Move to the recycle bin: {label}", tag=tag, status=204,
           versioned_write=True)
    def delete(req: ApiRequest, **path: str) -> None:
        service.delete(d, path[pid], req.expected_version())

    @route(bp, f"{base}/{ident}/related", summary=f"A record with every related list I may read (one Query): {label}", tag=tag,
           response=m("related"))
    def related(req: ApiRequest, **path: str) -> dict:
        return service.related(d, path[pid])

    @route(bp, f"{base}/{ident}/timeline", summary=f"A record's history, newest first: log, related records, approvals, "
           f"attachments: {label}", tag=tag, query=models.TimelineQuery, response=models.TimelineOut)
    def timeline(req: ApiRequest, **path: str) -> dict:
        return service.timeline(d, path[pid], req.query.limit)

    if d.features.approval:
        @route(bp, f"{base}/{ident}/submit", "POST", summary=f"Submit for approval (提交审批): {label}", tag=tag,
               body=APPROVALS.SubmitOptions, response=m("out"))
        def submit(req: ApiRequest, **path: str) -> dict:
            return service.submit(d, path[pid], req.body.model_dump(mode="json"))

    if d.features.transfer:
        @route(bp, f"{base}/{ident}/transfer", "POST", summary=f"Transfer to another owner (转移): {label}", tag=tag,
               body=models.TransferIn, response=m("out"), versioned_write=True)
        def transfer(req: ApiRequest, **path: str) -> dict:
            b = req.body
            return service.transfer(d, path[pid], b.to_user_id, b.keep_previous_owner_as, req.expected_version(b.version),
                                    b.cascade)

        @route(bp, f"{base}/transfer", "POST", summary=f"Transfer several records (批量转移); each on its own: {label}",
               tag=tag, body=models.BulkTransferIn, response=models.BulkTransferOut)
        def transfer_many(req: ApiRequest) -> dict:
            b = req.body
            return service.transfer_many(d, b.ids, b.to_user_id, b.keep_previous_owner_as, b.cascade)

    if d.features.team:
        @route(bp, f"{base}/{ident}/team", "PUT", summary=f"Set the record team (相关团队): {label}", tag=tag,
               body=models.TeamIn, response=m("out"), versioned_write=True)
        def set_team(req: ApiRequest, **path: str) -> dict:
            members = [x.model_dump() for x in req.body.members]
            return service.set_team(d, path[pid], members, req.expected_version(req.body.version))

    if d.duplicates:
        @route(bp, f"{base}/{ident}/merge", "POST", summary=f"Merge another record into this one (合并; undo: restore it from the "
               f"recycle bin): {label}", tag=tag, body=DUPLICATES.MergeIn, response=m("merged"), versioned_write=True)
        def merge_records(req: ApiRequest, **path: str) -> dict:
            b = req.body
            return merge.merge(d, path[pid], b.from_id, b.take, req.expected_version(b.version), b.from_version, b.keep_owner_as)

    if PRINT in d.actions and not d.custom:
        @route(bp, f"{base}/{ident}/pdf", summary=f"Print as PDF (打印), laid out by the tenant's print template: {label}", tag=tag,
               produces="application/pdf", description="Send `Accept: application/pdf` (or */*). Needs the record type's "
               "print action on the record; fields the caller may not read are not printed. Logged as `print`.")
        def print_pdf(req: ApiRequest, **path: str) -> Response:
            from ..printing import service as printing

            body, filename = printing.print_record(d, path[pid], req.headers.get("accept"))
            return Response(body=body, status_code=200, headers={
                "Content-Type": "application/pdf", "Content-Disposition": printing.disposition(filename),
                "Cache-Control": "no-store"})

    if d.features.comments:
        @route(bp, f"{base}/{ident}/comments", summary=f"Comments (评论), oldest first; needs read access to the record: {label}",
               tag=tag, query=COMMENTS.CommentQuery, response=COMMENTS.CommentPage)
        def list_comments(req: ApiRequest, **path: str) -> dict:
            from ..comments import service as comments

            return comments.list_comments(d, path[pid], req.query.limit, req.query.cursor)

        @route(bp, f"{base}/{ident}/comments", "POST", summary=f"Comment (评论, plain text) with @mentions; needs read access "
               f"to the record: {label}", tag=tag, body=COMMENTS.CommentIn, response=COMMENTS.CommentCreated, status=201,
               description="Mentioned users (`mentions` ids, or `@姓名` in the text) who may read the record get a "
               "notification; those who may not are listed in `not_notified` and told nothing.")
        def add_comment(req: ApiRequest, **path: str) -> dict:
            from ..comments import service as comments

            return comments.add(d, path[pid], req.body.body, req.body.mentions)

        @route(bp, f"{base}/{ident}/comments/{{comment_id}}", "DELETE", summary=f"Delete a comment (its author or an "
               f"administrator): {label}", tag=tag, status=204)
        def delete_comment(req: ApiRequest, **path: str) -> None:
            from ..comments import service as comments

            comments.delete(d, path[pid], path["comment_id"])

    @route(bp, f"{base}/{ident}/attachments", "POST", summary=f"Attach a file I uploaded (附件): {label}", tag=tag,
           body=files.AttachIn, response=files.AttachmentOut, status=201)
    def attach(req: ApiRequest, **path: str) -> dict:
        return attachments.attach(d, path[pid], req.body.file_id)

    @route(bp, f"{base}/{ident}/attachments", summary=f"Attachments, newest first, with download links: {label}", tag=tag,
           query=files.PageQuery, response=files.AttachmentPage)
    def list_attachments(req: ApiRequest, **path: str) -> dict:
        return attachments.list_attachments(d, path[pid], req.query.limit, req.query.cursor)

    @route(bp, f"{base}/{ident}/attachments/{{file_id}}", "DELETE", summary=f"Remove an attachment: {label}", tag=tag, status=204)
    def detach(req: ApiRequest, **path: str) -> None:
        attachments.detach(d, path[pid], path["file_id"])

    return bp
