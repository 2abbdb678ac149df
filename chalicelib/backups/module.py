"""Backups (数据备份) in the manifest: routes, job runners, the administrators' grant, texts."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from . import runner

MESSAGES = {
    "entity.backup": {"zh-CN": "备份", "en": "Backup"},
    "entity.restore": {"zh-CN": "恢复任务", "en": "Restore"},
    "BACKUP_NOT_READY": {"zh-CN": "该备份尚未完成，不能用于恢复", "en": "The backup has not finished; it cannot be restored yet"},
    "backup.timezone_unknown": {"zh-CN": "未知的时区「{value}」（应为标准时区名，默认上海时区）",
                                "en": "Unknown time zone '{value}' (an IANA time zone name is expected)"},
    "RESTORE_TARGET_NOT_EMPTY": {"zh-CN": "租户「{tenant}」已有数据，只能恢复到空租户",
                                 "en": "Tenant '{tenant}' already holds data; a backup is restored only into an empty tenant"},
}

MODULE = Module("backups", ("数据备份", "Backups"), blueprint=routes_of("backups"),
                roles={"admin": {"actions": ["manage"]}}, messages=MESSAGES,
                jobs={"backup": runner.run_backup, "restore": runner.run_restore})
