"""HTTP routes of files: presigned upload, confirmation, metadata, presigned download.
Attachments of records are routes of each record type (engine/api.py, objects/api.py)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "files"


@route(bp, "/files", "POST", summary="Start an upload: a presigned PUT URL and the headers to send with it", tag=TAG,
       body=s.FileIn, response=s.FileUpload, status=201)
def create_file(req: ApiRequest) -> dict:
    return service.create(req.body.model_dump())


@route(bp, "/files", summary="My uploads, newest first", tag=TAG, query=s.PageQuery, response=s.FilePage)
def list_files(req: ApiRequest) -> dict:
    return service.mine(req.query.limit, req.query.cursor)


@route(bp, "/files/{file_id}/confirm", "POST", summary="Confirm an upload (size and SHA-256 are checked); the file becomes usable",
       tag=TAG, response=s.FileOut)
def confirm_file(req: ApiRequest, file_id: str) -> dict:
    return service.confirm(file_id)


@route(bp, "/files/{file_id}", summary="A file's metadata (its uploader, or whoever may read a record it is on)", tag=TAG,
       response=s.FileOut)
def get_file(req: ApiRequest, file_id: str) -> dict:
    return service.get(file_id)


@route(bp, "/files/{file_id}/download", summary="A presigned download URL of a confirmed file", tag=TAG, response=s.DownloadOut)
def download_file(req: ApiRequest, file_id: str) -> dict:
    return service.download(file_id)
