"""Backups of a tenant's data, their schedule, and restores.

Key design:
- backup:   pk = T#<t>#BACKUP#<id>, sk = "#"                       -> a backup by id: one GetItem.
            gsi2pk = T#<t>#BACKUP, gsi2sk = <created>#<id>          -> the tenant's backups, newest first.
            gsi1pk = PLATFORM#BACKUP#<id>, gsi1sk = "#"             -> a backup by id alone: the platform
            operators' restore names a backup, not its tenant (like the tenant directory, a key that
            does not start with a tenant).
            Scheduled backups have ids derived from the hour they are for (`auto-<YYYYMMDDHH>`), so a
            schedule that fires twice makes one backup.
- schedule: pk = T#<t>#BACKUP_SCHEDULE, sk = "#"                     -> the tenant's backup setting (one
            GetItem); the EventBridge Scheduler schedule `backup-<t>` follows it.
- restore:  pk = T#<target>#RESTORE, sk = "#"                         -> the restore into a tenant: written
            first, on condition that it does not exist, so two restores into one tenant cannot both
            start; it names the backup and the job.

Backups, schedules, restore markers and jobs are never part of a backup themselves (walk.py).
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned


class Backup(Versioned, discriminator="BACKUP"):
    id = UnicodeAttribute()
    trigger = UnicodeAttribute(default="manual")  # manual | scheduled
    status = UnicodeAttribute(default="queued")  # queued | running | succeeded (a failed or cancelled one: its job says)
    job_id = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    items = NumberAttribute(null=True)
    counts = JSONAttribute(null=True)  # item type (REC:<ENTITY> for records) -> count
    files = NumberAttribute(null=True)
    bytes = NumberAttribute(null=True)
    parts = JSONAttribute(null=True)  # [{"name", "lines", "bytes", "sha256"}] items then files
    manifest_sha256 = UnicodeAttribute(null=True)

    @staticmethod
    def key(tenant_id: str, backup_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "BACKUP", backup_id), "#"

    @staticmethod
    def listing(tenant_id: str) -> str:
        return keys.k(tenant_id, "BACKUP")

    @staticmethod
    def by_id(backup_id: str) -> str:
        return f"PLATFORM#BACKUP#{backup_id}"


class BackupSchedule(Versioned, discriminator="BACKUP_SCHEDULE"):
    enabled = UnicodeAttribute(default="false")  # "true" | "false"
    hour = NumberAttribute(default=3)  # local hour of the day
    timezone = UnicodeAttribute(default="Asia/Shanghai")

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "BACKUP_SCHEDULE"), "#"

    def values(self) -> dict:
        return {"enabled": self.enabled == "true", "hour": int(self.hour), "timezone": self.timezone}


class Restore(Item, discriminator="RESTORE"):
    source_tenant_id = UnicodeAttribute()
    backup_id = UnicodeAttribute()
    job_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "RESTORE"), "#"
