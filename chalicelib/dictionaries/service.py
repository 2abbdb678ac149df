"""Dictionary rules: admins edit, everyone reads, other modules validate codes here."""
from __future__ import annotations

from typing import Any

from ..core import clock, context, session
from ..core.cache import TenantCache
from ..core.errors import NotFound, ValidationFailed, detail
from ..core.settings import get_settings
from ..db import changes
from ..db.base import Item, plain
from .models import DictItem, DictType

MODULE = "dictionaries"

# Defaults of every new tenant (PLAT-5): type -> [(code, 中文, English)]
DEFAULTS: dict[str, list[tuple[str, str, str]]] = {
    "position": [("gm", "总经理", "General manager"), ("sales_director", "销售总监", "Sales director"),
                 ("sales_manager", "销售经理", "Sales manager"), ("sales_rep", "销售代表", "Sales representative"),
                 ("service_agent", "客服专员", "Service agent"), ("finance", "财务", "Finance"), ("admin", "行政", "Administration")],
    "customer_type": [("existing", "老客户", "Existing customer"), ("target", "目标客户", "Target customer"),
                      ("potential", "潜在客户", "Potential customer"), ("partner", "合作伙伴", "Partner"),
                      ("blacklist", "黑名单", "Blacklist"), ("competitor", "竞争对手", "Competitor")],
    "customer_level": [("A", "A（重点客户）", "A (key)"), ("B", "B（普通客户）", "B (regular)"), ("C", "C（非优先客户）", "C (low priority)")],
    "industry": [("it", "IT/互联网", "IT / Internet"), ("manufacturing", "制造业", "Manufacturing"), ("finance", "金融", "Finance"),
                 ("education", "教育", "Education"), ("healthcare", "医疗", "Healthcare"), ("retail", "零售", "Retail"),
                 ("real_estate", "房地产", "Real estate"), ("government", "政府", "Government"), ("other", "其他", "Other")],
    "source": [("campaign", "市场活动", "Campaign"), ("phone", "电话咨询", "Phone"), ("referral", "客户介绍", "Referral"),
               ("web", "网站表单", "Web form"), ("email", "邮件", "Email"), ("exhibition", "展会", "Trade fair"), ("other", "其他", "Other")],
    "followup_type": [("call", "电话", "Call"), ("email", "邮件", "Email"), ("visit", "上门拜访", "Visit"),
                      ("sms", "短信", "SMS"), ("wechat", "微信", "WeChat")],
    "loss_reason": [("price", "价格", "Price"), ("competitor", "竞争对手", "Competitor"), ("no_budget", "无预算", "No budget"),
                    ("no_decision", "无决策", "No decision")],
    "payment_method": [("bank", "银行转账", "Bank transfer"), ("cash", "现金", "Cash"), ("cheque", "支票", "Cheque"),
                       ("acceptance", "承兑汇票", "Bank acceptance"), ("alipay", "支付宝", "Alipay"), ("wechat", "微信支付", "WeChat Pay"),
                       ("other", "其他", "Other")],
    "task_tag": [("customer_visit", "客户拜访", "Customer visit"), ("proposal", "方案", "Proposal"), ("internal", "内部事务", "Internal"),
                 ("follow_up", "跟进", "Follow-up")],
    "unit": [("piece", "个", "Piece"), ("machine", "台", "Unit"), ("set", "套", "Set"), ("item", "件", "Item"),
             ("box", "箱", "Box"), ("year", "年", "Year"), ("month", "月", "Month"), ("time", "次", "Time")],
}


# The product's dictionary types (the record types' select fields draw on them): type -> (中文, English).
# Any other type exists only once an admin defines it (POST /v1/dictionary-types).
BUILTIN_TYPES: dict[str, tuple[str, str]] = {
    "position": ("职位", "Position"), "customer_type": ("客户类型", "Customer type"), "customer_level": ("客户级别", "Customer level"),
    "industry": ("行业", "Industry"), "source": ("来源", "Source"), "followup_type": ("跟进方式", "Follow-up type"),
    "loss_reason": ("输单原因", "Loss reason"), "unit": ("单位", "Unit"), "payment_method": ("回款方式", "Payment method"),
    "task_tag": ("任务标签", "Task tag"),
}


def type_exists(tenant: str, dict_type: str) -> bool:
    """A built-in type, or one an admin defined (one GetItem)."""
    if dict_type in BUILTIN_TYPES:
        return True
    try:
        DictType.get(*DictType.key(tenant, dict_type))
    except DictType.DoesNotExist:
        return False
    return True


def _require_type(tenant: str, dict_type: str) -> None:
    if not type_exists(tenant, dict_type):
        raise NotFound(code="DICTIONARY_TYPE_NOT_FOUND", type=dict_type,
                       details=[detail("type", "not_found", "field.dictionary_type")])


def type_out(t: DictType) -> dict[str, Any]:
    return {"type": t.dict_type, "label": t.label, "label_en": t.label_en, "builtin": False, "version": t.version}


def list_types() -> list[dict[str, Any]]:
    """The built-in types, then the ones the tenant's admins defined."""
    tenant = context.current().tenant_id
    session.principal()
    defined = Item.query(DictType.key(tenant, "x")[0], range_key_condition=DictItem.sk.startswith("TYPE#"))
    return [*({"type": t, "label": zh, "label_en": en, "builtin": True} for t, (zh, en) in BUILTIN_TYPES.items()),
            *sorted((type_out(t) for t in defined if isinstance(t, DictType)), key=lambda t: t["type"])]


def define_type(body: dict[str, Any]) -> dict[str, Any]:
    """An admin adds a dictionary type (its items are added with POST /v1/dictionaries/{type})."""
    ctx = context.current()
    session.principal().require(MODULE, "manage")
    dict_type = body["type"]
    if dict_type in BUILTIN_TYPES:
        raise ValidationFailed("DICTIONARY_TYPE_BUILTIN", type=dict_type, details=[detail("type", "duplicate", "field.duplicate_key")])
    t = DictType(tenant_id=ctx.tenant_id, dict_type=dict_type, label=body["label"], label_en=body.get("label_en"))
    t.pk, t.sk = DictType.key(ctx.tenant_id, dict_type)
    changes.stamp(t, ctx.user_id, new=True)
    changes.create(t, "dictionary_type", dict_type, ctx.user_id,
                   on_conflict=lambda: ValidationFailed("DUPLICATE", field="entity.dictionary_type", value=dict_type))
    return type_out(t)


def out(item: DictItem) -> dict[str, Any]:
    return {"type": item.dict_type, "code": item.code, **plain(item.values()), "version": item.version}


def new_item(tenant: str, actor: str, dict_type: str, code: str, label: str, label_en: str | None = None,
             parent_code: str | None = None, sort_order: int = 0, enabled: bool = True) -> DictItem:
    at = clock.now_iso()
    item = DictItem(tenant_id=tenant, dict_type=dict_type, code=code, label=label, label_en=label_en, parent_code=parent_code,
                    sort_order=sort_order, enabled=enabled, created_at=at, created_by=actor, updated_at=at, updated_by=actor)
    item.pk, item.sk = DictItem.key(tenant, dict_type, code)
    return item


def default_items(tenant: str, actor: str) -> list[DictItem]:
    return [new_item(tenant, actor, t, code, zh, en, sort_order=i)
            for t, rows in DEFAULTS.items() for i, (code, zh, en) in enumerate(rows)]


def seed(tenant: str, actor: str) -> None:
    """A new tenant's dictionaries (one batch write; batch writes skip PynamoDB's version
    bookkeeping, so the first version is stamped here)."""
    with DictItem.batch_write() as batch:
        for item in default_items(tenant, actor):
            item.version = 1
            batch.save(item)


def _load_codes(tenant: str) -> dict[tuple[str, str], DictItem]:
    """(type, code) -> item for the whole tenant: one Query."""
    return {(i.dict_type, i.code): i for i in Item.query(DictItem.key(tenant, "x", "x")[0]) if isinstance(i, DictItem)}


_cache: TenantCache[dict[tuple[str, str], DictItem]] = TenantCache(_load_codes, lambda: get_settings().settings_cache_seconds)


def invalidate(tenant: str) -> None:
    _cache.invalidate(tenant)


def exists(tenant: str, dict_type: str, code: str) -> bool:
    """Is `code` an enabled item of the dictionary? A miss re-reads once, so a code added a
    moment ago in another container is accepted; a disable reaches other containers within
    CRM_SETTINGS_CACHE_SECONDS."""
    return label(tenant, dict_type, code) is not None


def label(tenant: str, dict_type: str, code: str) -> str | None:
    """The name of an enabled item (None when it is not one), re-reading once on a miss."""
    item = _cache.get(tenant).get((dict_type, code))
    if item is None or not item.enabled:
        item = _cache.get(tenant, fresh=True).get((dict_type, code))
    return item.label if item is not None and item.enabled else None


def label_in(tenant: str, dict_type: str, code: str, locale: str) -> str | None:
    """The item's name in `locale` (its English name when it has one), for printed documents."""
    item = _cache.get(tenant).get((dict_type, code))
    if item is None or not item.enabled:
        item = _cache.get(tenant, fresh=True).get((dict_type, code))
    if item is None or not item.enabled:
        return None
    return item.label_en if locale == "en" and item.label_en else item.label


def enabled_items(tenant: str, dict_type: str, *, disabled_too: bool = False) -> list[DictItem]:
    """The enabled items of one dictionary in their order (spreadsheet templates and cell matching);
    `disabled_too`: every item (naming the codes stored records still hold)."""
    found = [i for (t, _), i in _cache.get(tenant).items() if t == dict_type and (i.enabled or disabled_too)]
    return sorted(found, key=lambda i: (int(i.sort_order or 0), i.code))


def validate(tenant: str, values: dict[str, Any], fields: dict[str, str]) -> None:
    """Check that each field's code is an enabled item of its dictionary (field -> type)."""
    errors = [detail(f, "dictionary", "field.dictionary", value=values[f])
              for f, t in fields.items() if values.get(f) not in (None, "") and not exists(tenant, t, values[f])]
    if errors:
        raise ValidationFailed(details=errors)


def require_signed_in() -> None:
    """Reading shared reference data needs a signed-in user of the tenant (no more)."""
    session.principal()


def list_items(dict_type: str | None) -> list[dict[str, Any]]:
    tenant = context.current().tenant_id
    session.principal()
    rng = DictItem.sk.startswith(f"{dict_type}#") if dict_type else None
    items = Item.query(DictItem.key(tenant, "x", "x")[0], range_key_condition=rng)
    return sorted((out(i) for i in items if isinstance(i, DictItem)), key=lambda d: (d["type"], d["sort_order"], d["code"]))


def create(dict_type: str, body: dict[str, Any]) -> dict[str, Any]:
    ctx = context.current()
    session.principal().require(MODULE, "manage")
    _require_type(ctx.tenant_id, dict_type)
    item = new_item(ctx.tenant_id, ctx.user_id, dict_type, **body)
    changes.create(item, "dictionary", f"{dict_type}:{body['code']}", ctx.user_id,
                   on_conflict=lambda: ValidationFailed("DUPLICATE", field="label.code", value=body["code"]))
    invalidate(ctx.tenant_id)
    return out(item)


def _get(tenant: str, dict_type: str, code: str) -> DictItem:
    try:
        return DictItem.get(*DictItem.key(tenant, dict_type, code))
    except DictItem.DoesNotExist:
        raise NotFound("entity.dictionary") from None


def update(dict_type: str, code: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    ctx = context.current()
    session.principal().require(MODULE, "manage")
    item = _get(ctx.tenant_id, dict_type, code)
    changes.save(item, "dictionary", f"{dict_type}:{code}", ctx.user_id, values, expected)
    invalidate(ctx.tenant_id)
    return out(item)


def delete(dict_type: str, code: str, expected: int) -> None:
    """Items in use keep their code on records; deleting only stops new use (prefer disabling)."""
    ctx = context.current()
    session.principal().require(MODULE, "manage")
    item = _get(ctx.tenant_id, dict_type, code)
    changes.delete(item, "dictionary", f"{dict_type}:{code}", ctx.user_id, expected)
    invalidate(ctx.tenant_id)
