"""Follow-ups in the module manifest."""
from __future__ import annotations

from ..core.modules import CalendarSource, Module
from .entity import FOLLOWUP

MODULE = Module(name="followups", label=("跟进记录", "Follow-ups"), entities=(FOLLOWUP,),
                calendar=(CalendarSource("followup_next_contact", "followup", "next_contact_at"),))  # 下次联系 in the calendar
