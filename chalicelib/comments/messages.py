"""The comments module's own texts (merged into core.i18n at install)."""
from __future__ import annotations

MESSAGES = {
    "entity.comment": {"zh-CN": "评论", "en": "Comment"},
    "notify.comment.mention": {"zh-CN": "{name} 在「{title}」的评论中提到了你", "en": "{name} mentioned you in a comment on “{title}”"},
}
