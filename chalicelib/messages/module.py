"""Messages (内部消息) in the module manifest: conversations and the pull endpoint."""
from __future__ import annotations

from ..core.modules import Module, routes_of

MESSAGES = {
    "entity.conversation": {"zh-CN": "会话", "en": "Conversation"},
    "messages.field.self": {"zh-CN": "不能和自己发起会话", "en": "A conversation needs another user"},
    "messages.field.message": {"zh-CN": "该会话中没有这条消息", "en": "No such message in this conversation"},
    "messages.field.cursor": {"zh-CN": "游标格式不正确，请使用上次返回的 cursor", "en": "Not a cursor: pass the cursor of the previous answer"},
    "messages.field.empty": {"zh-CN": "消息内容不能为空", "en": "A message needs text or a file"},
    "messages.reason.direct": {"zh-CN": "单聊不能增删成员", "en": "A direct conversation has no members to add or remove"},
    "messages.system.joined": {"zh-CN": "{names} 加入了群聊", "en": "{names} joined"},
    "messages.system.left": {"zh-CN": "{names} 离开了群聊", "en": "{names} left"},
    "messages.system.removed": {"zh-CN": "{names} 被移出了群聊", "en": "{names} removed from the group"},
}


def _member(ref: str) -> None:
    from . import service

    service.require_reader(ref)


MODULE = Module(name="messages", label=("内部消息", "Messages"), blueprint=routes_of("messages"), messages=MESSAGES,
                audit_access={"conversation": _member})
