"""The webhooks module's declaration for the manifest (chalicelib/manifest.py)."""
from __future__ import annotations

from ..core.modules import Module, routes_of

MESSAGES = {
    "entity.webhook": {"zh-CN": "推送地址", "en": "webhook"},
    "entity.webhook_delivery": {"zh-CN": "推送记录", "en": "webhook delivery"},
    "webhook.url_https": {"zh-CN": "推送地址必须以 https:// 开头",
                          "en": "A webhook URL must start with https://"},
    "webhook.url_invalid": {"zh-CN": "推送地址无效（不能含用户名、密码或 #片段）",
                            "en": "Invalid webhook URL (no user name, password or #fragment)"},
    "webhook.url_private": {"zh-CN": "{host} 指向内网、回环、链路本地、保留或组播地址，不允许推送",
                            "en": "{host} points to a private, loopback, link-local, reserved or multicast address: "
                                  "not allowed"},
    "webhook.url_local_stack": {"zh-CN": "本地开发环境只向本机推送（127.0.0.1、::1 或 localhost），不能推送到 {host}",
                                "en": "The local stack only delivers to this machine (127.0.0.1, ::1 or localhost), not to {host}"},
    "webhook.url_unresolved": {"zh-CN": "无法解析主机名 {host}", "en": "The host name {host} cannot be resolved"},
    "webhook.event_pattern": {"zh-CN": "事件类型 {value} 格式不对：应为 模块.对象.动作，可用 * 代替任一部分",
                              "en": "Event type {value} is malformed: use module.entity.verb, with * for any part"},
    "webhook.event_unknown": {"zh-CN": "事件类型 {value} 的模块不存在", "en": "Event type {value} names no module"},
    "webhook.url_port": {"zh-CN": "推送地址只能使用 443 或 8443 端口（当前为 {port}）",
                         "en": "A webhook URL may only use port 443 or 8443 (not {port})"},
    "webhook.owner_other": {"zh-CN": "只有超级管理员可以指定他人作为推送身份：推送内容按推送身份的数据权限和字段权限生成",
                            "en": "Only a super administrator may name someone else as the webhook's owner: payloads follow "
                                  "the owner's data scope and field rules"},
    "webhook.owner_inactive": {"zh-CN": "推送身份必须是本租户的在职用户",
                               "en": "The webhook's owner must be an active user of this tenant"},
    "webhook.secret_required": {"zh-CN": "该推送地址没有签名密钥（从备份恢复的不带密钥）：请先重置密钥再启用",
                                "en": "This webhook has no signing secret (a restore brings none back): rotate the secret "
                                      "before enabling it"},
    "WEBHOOK_LIMIT": {"zh-CN": "每个租户最多 {limit} 个推送地址", "en": "A tenant may register at most {limit} webhooks"},
}

MODULE = Module("webhooks", ("事件推送", "Webhooks"), blueprint=routes_of("webhooks"),
                roles={"admin": {"actions": ["read", "manage"]}}, messages=MESSAGES)
