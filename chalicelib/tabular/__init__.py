"""Spreadsheets of records (导入导出): the columns of a record type as a caller may read or write
them (columns.py), and streaming CSV / XLSX readers and writers (sheets.py). Used by exports
and imports alike; no routes of its own."""

#: the media type of each file format (API answers, S3 objects, presigned uploads)
MEDIA = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
