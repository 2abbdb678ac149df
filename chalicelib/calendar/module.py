"""Calendar (日程) in the module manifest: the event record type, its routes and texts."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import EVENT

MESSAGES = {
    "EVENT_CONFLICT": {"zh-CN": "时间冲突：参与人已有 {count} 个日程与之重叠（确认仍要安排请带 force=true 重新提交）",
                       "en": "Time conflict: participants already have {count} overlapping event(s) (send force=true to schedule it anyway)"},
    "EVENT_CONFLICT_BLOCKED": {"zh-CN": "时间冲突：参与人已有 {count} 个日程与之重叠", "en": "Time conflict: participants already "
                                                                                           "have {count} overlapping event(s)"},
    "entity.occurrence": {"zh-CN": "日程的这一次", "en": "Occurrence"},
    "entity.calendar_feed": {"zh-CN": "日历订阅", "en": "Calendar feed"},
    "calendar.busy": {"zh-CN": "忙碌", "en": "Busy"},
    "calendar.end_before_start": {"zh-CN": "结束时间须晚于开始时间", "en": "The end must come after the start"},
    "calendar.too_long": {"zh-CN": "一个日程最长 {days} 天", "en": "An event lasts at most {days} days"},
    "calendar.range_too_long": {"zh-CN": "一次最多查询 {days} 天", "en": "At most {days} days at once"},
    "calendar.one_calendar": {"zh-CN": "user_id、department_id 与 team_name 只能给一个",
                              "en": "Give one of user_id, department_id and team_name"},
    "TEAM_CALENDAR_NOT_FOUND": {"zh-CN": "没有你可以查看的团队日程「{team}」（可查看的团队见 GET /v1/calendar/teams）",
                                "en": "No team calendar “{team}” you may read (see GET /v1/calendar/teams)"},
    "calendar.not_recurring": {"zh-CN": "这不是重复日程", "en": "This event does not recur"},
    "calendar.rrule.syntax": {"zh-CN": "重复规则格式不正确（如 FREQ=WEEKLY;BYDAY=MO;COUNT=10）",
                              "en": "Not a valid recurrence rule (e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=10)"},
    "calendar.rrule.part": {"zh-CN": "重复规则只支持 FREQ、INTERVAL、COUNT、UNTIL、BYDAY、BYMONTHDAY、BYMONTH、WKST",
                            "en": "A recurrence rule may use FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH and WKST only"},
    "calendar.rrule.freq": {"zh-CN": "重复频率须为 DAILY、WEEKLY、MONTHLY 或 YEARLY", "en": "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"},
    "calendar.rrule.range": {"zh-CN": "重复次数最多 1000 次、间隔最多 366、截止最多 20 年后",
                             "en": "At most 1000 occurrences, an interval up to 366 and an end up to 20 years on"},
    "calendar.rrule.start": {"zh-CN": "开始时间须是重复规则的第一次（如每周一的日程从周一开始）",
                             "en": "The start must be the rule's first occurrence (a Monday for a Monday meeting)"},
    "calendar.not_an_occurrence": {"zh-CN": "{date} 不是这个重复日程的某一次（改了重复规则时请一并调整已取消和已调整的日程）",
                                   "en": "{date} is not an occurrence of this series (after changing the rule, adjust the cancelled "
                                         "and moved occurrences too)"},
    "calendar.too_many_cancelled": {"zh-CN": "一个重复日程最多取消 {max} 次", "en": "At most {max} occurrences of a series can be cancelled"},
    "calendar.too_many_moved": {"zh-CN": "一个重复日程最多调整 {max} 次", "en": "At most {max} occurrences of a series can be moved"},
    "calendar.rrule.needed": {"zh-CN": "只有重复日程才能取消或调整某一次", "en": "Only a recurring event has occurrences to cancel or move"},
    "notify.event.participant": {"zh-CN": "{name} 邀请你参加日程「{title}」（{at} 开始）",
                                 "en": "{name} invited you to “{title}” (starts {at})"},
    "notify.event.reminder": {"zh-CN": "日程提醒：{title}（{at} 开始）", "en": "Event reminder: {title} (starts {at})"},
}

MODULE = Module(name="calendar", label=("日程", "Calendar"), entities=(EVENT,), blueprint=routes_of("calendar"),
                messages=MESSAGES)
