"""Follow-ups in the module manifest."""
from __future__ import annotations

from ..core.modules import Module
from .entity import FOLLOWUP

MODULE = Module(name="followups", label=("跟进记录", "Follow-ups"), entities=(FOLLOWUP,))
