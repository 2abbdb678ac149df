"""Inbound integrations (集成) in the module manifest: routes, the administrators' actions, texts."""
from __future__ import annotations

from ..core.modules import Module, routes_of

MESSAGES = {
    "entity.inbound_channel": {"zh-CN": "集成通道", "en": "inbound channel"},
    "INBOUND_UNAUTHORIZED": {"zh-CN": "签名无效或已过期，或通道不可用",
                             "en": "The signature is invalid or stale, or the channel cannot be used"},
    "INBOUND_IN_PROGRESS": {"zh-CN": "同一投递正在处理中，请稍后重发以取得结果",
                            "en": "The same delivery is still being written; send it again shortly for its result"},
    "integrations.key": {"zh-CN": "幂等键须为 1 到 128 个字符，且不能以 {{ 开头",
                         "en": "The idempotency key must be 1 to 128 characters and must not begin with {{"},
    "integrations.secret_required": {"zh-CN": "该集成通道没有签名密钥（从备份恢复的不带密钥）：请先重置密钥再启用",
                                     "en": "This channel has no signing secret (a restore brings none back): rotate the "
                                           "secret before enabling it"},
    "INBOUND_LIMIT": {"zh-CN": "每个租户最多 {limit} 个集成通道", "en": "A tenant may have at most {limit} inbound channels"},
    "integrations.unknown_type": {"zh-CN": "没有记录类型 {type}", "en": "No record type {type}"},
    "integrations.run_as_inactive": {"zh-CN": "执行身份必须是本租户的在职用户",
                                     "en": "The channel must act as an active user of this tenant"},
    "integrations.run_as_forbidden": {"zh-CN": "执行身份无权新建该类记录", "en": "The channel's user may not create these records"},
    "integrations.lookup_field": {"zh-CN": "记录类型 {type} 没有字段 {field}", "en": "Record type {type} has no field {field}"},
    "integrations.lookup_none": {"zh-CN": "没有{field}为「{value}」的{type}", "en": "No {type} with {field} '{value}'"},
    "integrations.lookup_ambiguous": {"zh-CN": "{field}为「{value}」的{type}不止一个",
                                      "en": "More than one {type} with {field} '{value}'"},
    "integrations.not_writable": {"zh-CN": "通道的执行身份无权填写该字段", "en": "The channel's user may not write this field"},
    "integrations.type_gone": {"zh-CN": "该通道的记录类型已不存在", "en": "The channel's record type no longer exists"},
    "integrations.too_large": {"zh-CN": "请求体太大（最大 {max}）", "en": "The body is too large (at most {max})"},
    "integrations.items": {"zh-CN": "items 须有 1 到 {max} 个对象", "en": "items must hold 1 to {max} objects"},
    "integrations.item_object": {"zh-CN": "每一项都必须是 JSON 对象", "en": "Each item must be a JSON object"},
    "integrations.body": {"zh-CN": "请求体须是一个 JSON 对象，或 {\"items\": [...]}",
                          "en": "The body must be one JSON object, or {\"items\": [...]}"},
}

MODULE = Module("integrations", ("集成", "Integrations"), blueprint=routes_of("integrations"),
                roles={"admin": {"actions": ["read", "manage"]}}, messages=MESSAGES)
