"""Objects in the tenant-scoped S3 buckets: every key of a tenant's data holds `tenants/<tenant>/`.

- archive bucket (`CRM_ARCHIVE_BUCKET`): operation-log archives, written by the functions (`put`/`get`).
- files bucket (`CRM_FILES_BUCKET`): what users upload. Clients never get credentials; they get
  presigned URLs:
  - upload: a presigned PUT of `pending/tenants/<t>/files/<file id>` that signs Content-Type,
    Content-Length and `x-amz-checksum-sha256` — S3 refuses a body of another size or another
    SHA-256 (BadDigest) and a request without those exact headers (signature mismatch). The
    bucket's lifecycle deletes what stays under `pending/` for a day.
  - confirmation: HeadObject (ChecksumMode=ENABLED) of the pending object, then a server-side
    CopyObject to the final key `tenants/<t>/files/<file id>/<safe name>` with
    ChecksumAlgorithm=SHA256, whose result carries the SHA-256 S3 computed over the copied bytes.
    Only the API writes final keys, so a replayed upload URL cannot change a confirmed file.
  - download: a presigned GET of the final key (Content-Disposition: attachment).

What AWS and moto do (measured with moto 5.2, see tests/integration/test_files.py): AWS checks
the signature, the signed length and the checksum at upload time and returns ChecksumSHA256 from
HeadObject with ChecksumMode=ENABLED; moto checks none of them and returns no checksum from
HeadObject for a presigned upload, but computes the real SHA-256 when CopyObject asks for
one. Confirmation therefore trusts the copy's checksum in both, and hashes the object itself
only when an S3 implementation returns no checksum at all.
"""
from __future__ import annotations

import contextvars
import hashlib
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from ..core.settings import get_settings
from . import client

PENDING = "pending/"
EXPORT_TAG = ("crm-kind", "export")  # export files carry it: the bucket's lifecycle expires them
_UNSAFE = re.compile(r"[^\w.\-]+")


def tenant_key(tenant_id: str, *parts: str) -> str:
    if not tenant_id or "/" in tenant_id:
        raise ValueError("invalid tenant id")
    return "/".join(("tenants", tenant_id, *parts))


def put(key: str, body: bytes, content_type: str = "application/octet-stream", bucket: str | None = None) -> None:
    client("s3").put_object(Bucket=bucket or get_settings().archive_bucket, Key=key, Body=body,
                            ContentType=content_type, ServerSideEncryption="AES256")


def get(key: str, bucket: str | None = None) -> bytes:
    return client("s3").get_object(Bucket=bucket or get_settings().archive_bucket, Key=key)["Body"].read()


# ---- uploaded files -------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """A file name fit for a key: letters (any script), digits, `.`, `-`, `_`; at most 100 characters."""
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip("._") or "file"
    stem, dot, ext = cleaned.rpartition(".")
    if len(cleaned) > 100:
        cleaned = (stem[: 100 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else cleaned[:100]
    return cleaned


def pending_key(tenant_id: str, file_id: str) -> str:
    return PENDING + tenant_key(tenant_id, "files", file_id)


def file_key(tenant_id: str, file_id: str, name: str) -> str:
    return tenant_key(tenant_id, "files", file_id, safe_name(name))


def _s3() -> Any:
    """The client for the files bucket: SigV4 (presigned URLs that sign headers), virtual-hosted
    regional URLs in AWS, path-style against a local endpoint (moto server)."""
    local = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return client("s3", signature_version="s3v4", s3={"addressing_style": "path" if local else "virtual"})


class _ContextThreadPool(ThreadPoolExecutor):
    """Worker threads that run each task in the context of the thread submitting it: the parts of a
    transfer started on a tenant's request are signed with that tenant's credentials, as the
    request's own calls are (db/credentials.py reads the request context)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def _transfer() -> Any:
    """s3transfer's manager on the files client (what `upload_fileobj` uses, minus its CRT path,
    which signs on its own), with workers that keep the caller's context."""
    from boto3.s3.transfer import TransferConfig
    from s3transfer.manager import TransferManager

    return TransferManager(_s3(), TransferConfig(), executor_cls=_ContextThreadPool)


def _bucket() -> str:
    return get_settings().files_bucket


def presign_upload(key: str, content_type: str, size: int, sha256_b64: str, expires_seconds: int) -> tuple[str, dict[str, str]]:
    """A presigned PUT and the headers the client must send with it (Content-Length, which the
    client's HTTP library sets from the body, is signed too)."""
    url = _s3().generate_presigned_url(
        "put_object", ExpiresIn=expires_seconds, HttpMethod="PUT",
        Params={"Bucket": _bucket(), "Key": key, "ContentType": content_type, "ContentLength": size,
                "ChecksumSHA256": sha256_b64})
    return url, {"Content-Type": content_type, "x-amz-checksum-sha256": sha256_b64}


def head(key: str) -> dict[str, Any] | None:
    """Size, content type and the SHA-256 S3 holds for an object (None when there is none)."""
    s3 = _s3()
    try:
        h = s3.head_object(Bucket=_bucket(), Key=key, ChecksumMode="ENABLED")
    except s3.exceptions.ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return {"size": int(h["ContentLength"]), "content_type": h.get("ContentType"), "sha256": _full_object(h.get("ChecksumSHA256"))}


def _full_object(checksum: str | None) -> str | None:
    return checksum if checksum and "-" not in checksum else None  # "<b64>-<parts>" is a multipart composite


def promote(source: str, target: str) -> str:
    """Copy the pending upload to its final key; the SHA-256 (base64) of the bytes now there."""
    s3 = _s3()
    result = s3.copy_object(Bucket=_bucket(), Key=target, CopySource={"Bucket": _bucket(), "Key": source},
                            ChecksumAlgorithm="SHA256", MetadataDirective="COPY", ServerSideEncryption="AES256")
    checksum = _full_object((result.get("CopyObjectResult") or {}).get("ChecksumSHA256"))
    return checksum or _hash(target)


def _hash(key: str) -> str:
    """SHA-256 (base64) of an object, read in chunks (for S3 implementations that return none)."""
    import base64

    body = _s3().get_object(Bucket=_bucket(), Key=key)["Body"]
    digest = hashlib.sha256()
    for chunk in body.iter_chunks(1024 * 1024):
        digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def upload(key: str, fileobj: Any, content_type: str, *, export: bool = False) -> None:
    """A file written by the API or a job into the files bucket, streamed from `fileobj` (a multipart
    upload above 8 MB: memory stays flat however large the file). `export`: tagged so that the
    bucket's lifecycle removes it after a few days (infra/components/storage.py)."""
    extra = {"ContentType": content_type, "ServerSideEncryption": "AES256"}
    if export:
        extra["Tagging"] = f"{EXPORT_TAG[0]}={EXPORT_TAG[1]}"
    with _transfer() as manager:
        manager.upload(fileobj, _bucket(), key, extra_args=extra).result()


def presign_download(key: str, name: str, content_type: str, expires_seconds: int, bucket: str | None = None) -> str:
    """A presigned GET that the browser saves as `name` (RFC 6266 / 5987 for non-ASCII names)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().replace('"', "").strip()
    if not ascii_name.rpartition(".")[0].strip("._ "):  # 合同.pdf -> file.pdf
        ext = ascii_name.rpartition(".")[2] if "." in ascii_name else ""
        ascii_name = f"file.{ext}" if ext else "file"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    return _s3().generate_presigned_url(
        "get_object", ExpiresIn=expires_seconds, HttpMethod="GET",
        Params={"Bucket": bucket or _bucket(), "Key": key, "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type})


def delete_object(key: str) -> None:
    """Remove an uploaded file's object (a file no record uses any more); idempotent."""
    _s3().delete_object(Bucket=_bucket(), Key=key)


def copy_file(source: str, target: str) -> str | None:
    """Server-side copy of an uploaded file to another key (a restored tenant's); the SHA-256
    (base64) of the bytes now there, or None when the source is gone."""
    if head(source) is None:
        return None
    return promote(source, target)


def download(key: str, fileobj: Any) -> None:
    """Copy an object of the files bucket into a local file object, streamed in parts (an import's upload)."""
    with _transfer() as manager:
        manager.download(_bucket(), key, fileobj).result()
