"""Work reports (工作报告, WORK-6) in the module manifest: the record type, its routes and texts."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import WORK_REPORT

MODULE = Module(
    name="reports", label=("工作报告", "Work reports"), entities=(WORK_REPORT,), blueprint=routes_of("reports"),
    messages={
        "action.missing": {"zh-CN": "查看未提交", "en": "see who has not submitted"},
        "WORK_REPORT_EXISTS": {"zh-CN": "你已有该期间（{period}）的报告，请编辑那份报告",
                               "en": "You already have a report of this period ({period}); edit that one"},
        "WORK_REPORT_SUBMITTED": {"zh-CN": "报告已提交，不能再修改或删除", "en": "The report is submitted; it no longer changes"},
        "WORK_REPORT_NOT_SUBMITTED": {"zh-CN": "报告尚未提交，不能批阅", "en": "The report is not submitted yet; it cannot be reviewed"},
        "WORK_REPORT_AUTHOR_ONLY": {"zh-CN": "只有报告的撰写人可以提交", "en": "Only the report's author may submit it"},
        "WORK_REPORT_NOT_REVIEWER": {"zh-CN": "只有报告的接收人或撰写人的上级可以批阅",
                                     "en": "Only the report's recipients and the author's managers may review it"},
        "work_report.own_only": {"zh-CN": "工作报告只能由本人撰写", "en": "A work report is written by its author only"},
        "work_report.period_format": {"zh-CN": "期间格式应为 2026-12-01（日报）、2026-W49 或某一天（周报）、2026-12 或某一天（月报）",
                                      "en": "A period is 2026-12-01 (daily), 2026-W49 or a day (weekly), 2026-12 or a day (monthly)"},
        "work_report.template_keys": {"zh-CN": "栏目标识重复", "en": "Section keys repeat"},
        "work_report.days": {"zh-CN": "提醒日期无效（日报/周报为星期 1-7，月报为 1-31 或 -1 表示月末）",
                             "en": "Invalid days (1-7 weekdays for daily and weekly reports, 1-31 or -1 for the month's last day)"},
        "work_report.submitted": {"zh-CN": "{name}提交了{kind}（{period}）", "en": "{name} submitted a {kind} ({period})"},
        "work_report.reviewed": {"zh-CN": "{name}批阅了你的{kind}（{period}）", "en": "{name} reviewed your {kind} ({period})"},
        "work_report.missing": {"zh-CN": "你还没有提交{kind}（{period}）", "en": "Your {kind} ({period}) is not submitted yet"},
    },
)
