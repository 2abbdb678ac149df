"""The backup archive in S3 (archive bucket, `tenants/<t>/backups/<backup id>/`), format version 1:

    manifest.json            {"format": "crm-tenant-backup", "format_version": 1, tenant, backup id,
                              created_at, item count, counts per item type, "parts": [...],
                              "files": {"count", "bytes", "parts": [...], "storage"}}
    items-00001.jsonl.gz …   gzip'd JSON lines: one table item per line, as DynamoDB JSON
    files-00001.jsonl.gz …   gzip'd JSON lines: the files manifest, one uploaded file per line
                              {"id", "key", "name", "size", "sha256"} (hex SHA-256 of the bytes)

Each part entry names the object, its line count, its size and the SHA-256 of its bytes (as
stored, compressed); a reader checks both before it trusts a line. Parts are written whole, one
PutObject each (S3 checks the SHA-256 it is sent), bounded in size: a backup's memory does not
grow with the tenant, and a job that stops resumes at the next part.

The files' bytes are not copied into the archive: they stay in the files bucket, whose objects
never change once confirmed (a new upload is a new file); the manifest pins each one by key
and SHA-256, and a restore copies them server-side to the restored tenant's keys, checking the
SHA-256 S3 computes over the copy.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from typing import Any

from ..core.settings import get_settings
from ..ports import client
from ..ports import files as storage

FORMAT = "crm-tenant-backup"
FORMAT_VERSION = 1
PART_LINES = 2000
PART_BYTES = 8 * 1024 * 1024  # uncompressed


def prefix(tenant_id: str, backup_id: str) -> str:
    return storage.tenant_key(tenant_id, "backups", backup_id) + "/"


def manifest_key(tenant_id: str, backup_id: str) -> str:
    return prefix(tenant_id, backup_id) + "manifest.json"


class Part:
    """One part being written: lines gzip'd into memory until it is full."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.lines = 0
        self.raw = 0
        self._buf = io.BytesIO()
        self._gz = gzip.GzipFile(fileobj=self._buf, mode="wb", mtime=0)

    def add(self, value: dict[str, Any]) -> None:
        line = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        self._gz.write(line)
        self.lines += 1
        self.raw += len(line)

    @property
    def full(self) -> bool:
        return self.lines >= PART_LINES or self.raw >= PART_BYTES

    def store(self, tenant_id: str, backup_id: str, number: int) -> dict[str, Any]:
        """Write the part as object `<kind>-<number>.jsonl.gz`; its manifest entry."""
        self._gz.close()
        body = self._buf.getvalue()
        digest = hashlib.sha256(body).digest()
        name = f"{self.kind}-{number:05d}.jsonl.gz"
        client("s3").put_object(Bucket=get_settings().archive_bucket, Key=prefix(tenant_id, backup_id) + name, Body=body,
                                ContentType="application/gzip", ServerSideEncryption="AES256",
                                ChecksumSHA256=base64.b64encode(digest).decode())
        return {"name": name, "lines": self.lines, "bytes": len(body), "sha256": digest.hex()}


def write_manifest(tenant_id: str, backup_id: str, manifest: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, **manifest}, ensure_ascii=False, indent=1).encode()
    storage.put(manifest_key(tenant_id, backup_id), body, "application/json")
    return {"key": manifest_key(tenant_id, backup_id), "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}


class Corrupt(Exception):
    """A part whose size or SHA-256 is not what the manifest says, or an unknown format."""


def read_manifest(tenant_id: str, backup_id: str) -> dict[str, Any]:
    m = json.loads(storage.get(manifest_key(tenant_id, backup_id)))
    if m.get("format") != FORMAT or int(m.get("format_version", 0)) > FORMAT_VERSION:
        raise Corrupt(f"unsupported backup format {m.get('format')!r} version {m.get('format_version')!r}")
    return m


def read_part(tenant_id: str, backup_id: str, entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The lines of one part, after its size and SHA-256 are checked (one part in memory at most)."""
    body = storage.get(prefix(tenant_id, backup_id) + entry["name"])
    if len(body) != int(entry["bytes"]) or hashlib.sha256(body).hexdigest() != entry["sha256"]:
        raise Corrupt(f"backup part {entry['name']} does not match its manifest")
    with gzip.GzipFile(fileobj=io.BytesIO(body), mode="rb") as gz:
        for line in gz:
            if line.strip():
                yield json.loads(line)


def presign(key: str, name: str, seconds: int = 900) -> str:
    return storage.presign_download(key, name, "application/gzip" if name.endswith(".gz") else "application/json", seconds,
                                    bucket=get_settings().archive_bucket)
