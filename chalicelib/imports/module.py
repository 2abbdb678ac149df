"""Imports (导入) in the module manifest: the routes, the "import" job runner and the texts."""
from __future__ import annotations

from ..core.modules import Module, routes_of


def _log_access(import_id: str) -> None:
    """The import's own operation-log entry: its creator reads it (service._load: 404 for others)."""
    from ..org import service as org
    from . import service

    service._load(org.principal(), import_id)


def _run(ctx):  # the runner, imported when a job runs
    from . import runner

    return runner.run(ctx)


MESSAGES = {
    "entity.import": {"zh-CN": "导入任务", "en": "Import"},
    "imports.too_large": {"zh-CN": "文件太大（最大 {max}）", "en": "The file is too large (at most {max})"},
    "imports.unknown_column": {"zh-CN": "没有可导入的列「{column}」", "en": "No importable column '{column}'"},
    "imports.column_twice": {"zh-CN": "该列已由表头「{column}」导入", "en": "This column is already mapped from header '{column}'"},
    "IMPORT_NOT_UPLOADED": {"zh-CN": "文件尚未上传完成，或大小、校验值与登记的不符",
                            "en": "The file is not uploaded yet, or its size or SHA-256 differs from what was declared"},
    "IMPORT_FORMAT": {"zh-CN": "文件不是可读的 {format} 文件", "en": "The file is not a readable {format} file"},
    "IMPORT_RUNNING": {"zh-CN": "该导入正在运行", "en": "This import is running"},
    "IMPORT_DONE": {"zh-CN": "该文件已经导入完成", "en": "This file has been imported already"},
    "IMPORT_NOT_STARTED": {"zh-CN": "该导入尚未开始", "en": "This import has not been started"},
    "IMPORT_NOTHING_MAPPED": {"zh-CN": "没有任何列对应到字段", "en": "No column is mapped to a field"},
    "IMPORT_OVERWRITE_FORBIDDEN": {"zh-CN": "与已有记录重复，但您无权修改该记录",
                                   "en": "Duplicates an existing record that you may not change"},
}

MODULE = Module(name="imports", blueprint=routes_of("imports"), messages=MESSAGES, audit_access={"import": _log_access},
                jobs={"import": _run})
