"""Background jobs (后台任务): imports, exports, backups — work too long for one request.

Key design:
- Job: pk = T#<t>#JOB#<id>, sk = "JOB"          -> get a job by id: one GetItem
       gsi1pk = T#<t>#JOBS#<creator>, gsi1sk = <created_at>#<id>
                                                -> a user's jobs, newest first: one Query
       gsi2pk = T#<t>#JOBS, gsi2sk = <created_at>#<id>
                                                -> the tenant's jobs (administrators): one Query
The item is the truth about a job: status, progress, the runner's checkpoint and who holds it.
An invocation holds a job through `lease_until` (claimed and extended with versioned writes),
so two deliveries of the same queue message never run one job at the same time.
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Versioned

SK = "JOB"


class Job(Versioned, discriminator="JOB"):
    id = UnicodeAttribute()
    kind = UnicodeAttribute()  # the runner: import | export | backup | restore …
    label = JSONAttribute(default=list)  # [中文, English]: what a person sees in a job list
    locale = UnicodeAttribute(default="zh-CN")  # the creator's language: messages the job writes
    status = UnicodeAttribute(default="queued")  # queued | running | succeeded | failed | cancelled
    params = JSONAttribute(default=dict)
    checkpoint = JSONAttribute(default=dict)  # the runner's own: where to resume
    total = NumberAttribute(null=True)
    done = NumberAttribute(default=0)
    errors = NumberAttribute(default=0)
    result = JSONAttribute(null=True)
    error = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)  # invocations that claimed it
    cancel_requested = BooleanAttribute(default=False)
    lease_until = UnicodeAttribute(null=True)  # UTC ISO: the running invocation holds it until then
    finished_at = UnicodeAttribute(null=True)

    @staticmethod
    def key(tenant_id: str, job_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "JOB", job_id), SK

    @staticmethod
    def mine(tenant_id: str, user_id: str) -> str:
        return keys.k(tenant_id, "JOBS", user_id)

    @staticmethod
    def everyone(tenant_id: str) -> str:
        return keys.k(tenant_id, "JOBS")
