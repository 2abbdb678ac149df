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
    "imports.not_a_header": {"zh-CN": "文件中没有表头「{header}」", "en": "The file has no header '{header}'"},
    "imports.max_columns": {"zh-CN": "表头最多 {max} 列", "en": "At most {max} header columns"},
    "imports.max_header": {"zh-CN": "每个表头最多 {max} 个字符", "en": "A header has at most {max} characters"},
    "imports.cell_too_long": {"zh-CN": "内容过长（{length} 个字符，最多 {max} 个）",
                              "en": "Too long ({length} characters, at most {max})"},
    "imports.zip_entries": {"zh-CN": "XLSX 文件最多包含 {max} 个部件", "en": "An XLSX file holds at most {max} parts"},
    "imports.zip_part": {"zh-CN": "XLSX 文件的单个部件解压后最大 {max}", "en": "One part of an XLSX file is at most {max} unpacked"},
    "imports.zip_total": {"zh-CN": "XLSX 文件解压后最大 {max}", "en": "An XLSX file is at most {max} unpacked"},
    "imports.zip_ratio": {"zh-CN": "XLSX 文件的压缩比最大 {max}", "en": "An XLSX file is compressed at most {max}"},
    "imports.skipped_record": {"zh-CN": "与已有记录「{title}」重复，已跳过", "en": "Duplicates the record '{title}': skipped"},
    "imports.skipped_row": {"zh-CN": "与本文件第 {row} 行重复，已跳过", "en": "Duplicates row {row} of this file: skipped"},
    "imports.skipped_hidden": {"zh-CN": "与一条您无权查看的已有记录重复，已跳过",
                               "en": "Duplicates an existing record you may not see: skipped"},
    "IMPORT_HEADERS": {"zh-CN": "文件表头超出限制：最多 {columns} 列，每个表头最多 {length} 个字符",
                       "en": "The file's header row is beyond the limits: at most {columns} columns, "
                             "headers of at most {length} characters"},
    "IMPORT_TOO_LARGE": {"zh-CN": "XLSX 文件解压后过大或压缩比异常（限制：{max}）",
                         "en": "The XLSX file is too large unpacked, or unusually compressed (limit: {max})"},
    "IMPORT_OVERWRITE_FORBIDDEN": {"zh-CN": "与已有记录重复，但您无权修改该记录",
                                   "en": "Duplicates an existing record that you may not change"},
}

MODULE = Module(name="imports", blueprint=routes_of("imports"), messages=MESSAGES, audit_access={"import": _log_access},
                jobs={"import": _run})
