"""Work reports' settings items: the tenant's report templates and its reminder rules.

Key design: pk = T#<t>#WORKREPORTSETTINGS, sk = TEMPLATES | REMINDERS — one versioned item each,
replaced as a whole by administrators (`reports:manage`). The reports themselves are engine
records (entity.py); the one-report-per-period rule is a unique value per author, kind and period
(db/unique.UniqueValue, kind WORK_REPORT.slot) claimed in the report's own transaction."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute

from ..db import keys
from ..db.base import Versioned


class ReportTemplates(Versioned, discriminator="WORKREPORTTEMPLATES"):
    templates = JSONAttribute()  # {"daily": [{"key", "label": {"zh-CN", "en"}, "required"}], "weekly": […], "monthly": […]}

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "WORKREPORTSETTINGS"), "TEMPLATES"

    def values(self) -> dict:
        return {"templates": self.templates}


class ReportReminders(Versioned, discriminator="WORKREPORTREMINDERS"):
    reminders = JSONAttribute()  # {"daily": {"enabled", "time": "18:00", "days": [1..5]}, "weekly": …, "monthly": …}

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "WORKREPORTSETTINGS"), "REMINDERS"

    def values(self) -> dict:
        return {"reminders": self.reminders}
