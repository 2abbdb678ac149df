"""Exports (导出) as the manifest reads them: routes, texts, the export jobs and who may read an
export's log entry."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from ..engine.definition import lazy

RUNNER = "chalicelib.exports.runner"  # imported by the jobs function when an export runs, not with the API

MESSAGES: dict[str, dict[str, str]] = {
    "AUDIT_ARCHIVE_COLD": {"zh-CN": "{month} 的操作日志归档已转入冷存储（Glacier），需先由运维恢复后才能导出",
                           "en": "The operation log archive of {month} is in cold storage (Glacier): operations must restore "
                                 "it before it can be exported"},
    "entity.export": {"zh-CN": "导出", "en": "Export"},
    "exports.audit_log": {"zh-CN": "操作日志", "en": "Operation log"},
    "exports.audit.at": {"zh-CN": "时间", "en": "Time"},
    "exports.audit.actor": {"zh-CN": "操作人", "en": "By"},
    "exports.audit.action": {"zh-CN": "操作", "en": "Action"},
    "exports.audit.entity": {"zh-CN": "对象类型", "en": "Record type"},
    "exports.audit.record_id": {"zh-CN": "对象编号", "en": "Record id"},
    "exports.audit.changes": {"zh-CN": "变更内容", "en": "Changes"},
    "exports.audit.note": {"zh-CN": "备注", "en": "Note"},
}


def _log_access(record_id: str) -> None:
    """An export's log entry: whoever may read the tenant's log (audit admins)."""
    from ..org import service as org

    org.principal().require("audit", "list")


MODULE = Module("exports", blueprint=routes_of("exports"), messages=MESSAGES, audit_access={"export": _log_access},
                jobs={"export": lazy(RUNNER, "run"), "audit_export": lazy(RUNNER, "run_audit")})
