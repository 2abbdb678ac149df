"""集成 (inbound integrations): signed endpoints through which other systems write records — web
orders, call-center events, finance confirmations, or any record type.

The rules:
- Administrators (integrations:manage) make channels. A channel names the record type, the
  mapping from payload keys ("a.b" for nested ones) to the type's import columns (suggested from a
  sample payload, or from each delivery's keys, as an import's headers are), lookups (a payload
  value that names a record by one of its fields: a caller's mobile -> the customer), default
  cells, what to do with duplicates (skip | overwrite | create, under the tenant's duplicate rules)
  and the user it acts as (`run_as`): every record is written with that user's permissions, data
  scope, field rules and ownership limits — a channel is never a way around them. A preset kind
  proposes type, mapping and lookups (PRESETS).
- The secret is made here (secrets.token_urlsafe), shown once at creation and rotation, never in
  a list, a read or the operation log.
- `receive()` serves the public endpoint: the request is signed like a webhook delivery
  (webhooks/signing.py: X-CRM-Timestamp, X-CRM-Signature v1=HMAC-SHA256(secret, "<ts>.<raw body>"),
  5 minutes' tolerance). A bad or missing signature, a stale timestamp, an unknown or disabled
  channel, another tenant's channel and a channel whose user is no longer active all answer the
  same 401, before anything is written or charged. Then the tenant's rate limit is charged (as
  any API request), the body is read (one object, or {"items": [...]} of at most MAX_ITEMS), and
  the items are written as import rows (writer.py).
- Replays: every accepted delivery leaves a marker (a conditional put, no Scan): by its
  Idempotency-Key (or X-CRM-Delivery) when it has one — the signature must then cover the key,
  "<ts>.<key>.<raw body>", so a captured request cannot be sent again under a new key —, else by its
  signed content ("<ts>.<raw body>"), kept until that signature could no longer verify. A resend
  (the same bytes, or the same key and body) answers the first result and writes nothing, so a
  sender that lost the answer to a network error simply sends again; while the first attempt is
  still writing a resend gets 409 INBOUND_IN_PROGRESS (Retry-After), and once it has surely died
  (IN_FLIGHT_SECONDS) a resend resumes it: its records keep their ids, nothing is written twice.
- Each delivery is logged per channel (counts, each rejected item's reasons; never the payload).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from ..core import clock, context, ids
from ..core.errors import Conflict, Unauthenticated, ValidationFailed, detail
from ..core.observability import logger, metric
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import changes, query
from ..db.base import Item
from ..engine import registry
from ..engine.definition import EntityDef
from . import writer
from .models import ENTITY, Channel, InboundDelivery, Replay

MODULE = "integrations"
KINDS = ("web_order", "call_center", "finance", "custom")
MODES = ("skip", "overwrite", "create")
MAX_ITEMS = 100
MAX_BYTES = 1024 * 1024
MAX_CHANNELS = 50
ERRORS_KEPT = 20  # rejected items whose reasons a delivery's log entry keeps
DELIVERY_TTL_DAYS = 30
PATH = "/v1/inbound/{tenant_id}/{channel_id}"
SIGNED_PREFIX = "SIG#"  # a marker of a delivery without a key: sk = SIG#<SHA-256 of "<timestamp>.<raw body>">
MARKER_MARGIN_SECONDS = 60  # a keyless marker outlives its signature's window by this much
IN_FLIGHT_SECONDS = 35  # a delivery unanswered for longer died (the API function stops at 29 s): a resend resumes it

#: What each kind proposes when the channel does not say: the record type, the mapping of the
#: conventional payload keys, lookups and default cells (README: Inbound integrations).
PRESETS: dict[str, dict[str, Any]] = {
    "web_order": {"type": "lead",
                  "mapping": {"order_no": None, "contact.name": "name", "contact.mobile": "mobile", "contact.email": "email",
                              "company": "company", "address": "address", "note": "remark"},
                  "lookups": {}, "defaults": {}},
    "call_center": {"type": "followup",
                    "mapping": {"caller": "about", "summary": "content", "started_at": "followed_at",
                                "next_contact_at": "next_contact_at"},
                    "lookups": {"caller": {"type": "customer", "field": "mobile"}}, "defaults": {"type": "call"}},
    "finance": {"type": "payment",
                "mapping": {"contract_no": "contract", "amount": "amount", "paid_on": "paid_on", "method": "method",
                            "note": "remark"},
                "lookups": {"contract_no": {"type": "contract", "field": "number"}}, "defaults": {}},
}


def _principal() -> Principal:
    from ..org import service as org

    return org.principal()


def _principal_of(tenant_id: str, user_id: str) -> Principal:
    from ..org import service as org

    return Principal(tenant_id, user_id, org.load(tenant_id).snapshot)


# ---- channels ---------------------------------------------------------------------------------
def channel_out(c: Channel, *, secret: bool = False) -> dict[str, Any]:
    out = {"id": c.id, **c.values(), "has_secret": bool(c.secret), "url": PATH.format(tenant_id=c.tenant_id, channel_id=c.id),
           "created_at": c.created_at, "created_by": c.created_by, "updated_at": c.updated_at, "version": int(c.version)}
    if secret:
        out["secret"] = c.secret
    return out


def _channels(tenant_id: str) -> list[Channel]:
    return [c for c in Item.query(Channel.partition(tenant_id)) if isinstance(c, Channel)]


def _get(tenant_id: str, channel_id: str) -> Channel:
    return query.one(Channel, *Channel.key(tenant_id, channel_id), "entity.inbound_channel")  # type: ignore[return-value]


def _record_type(p: Principal, type_: str) -> EntityDef:
    d = registry.find(type_, p.tenant_id) or registry.find(registry.CUSTOM_PREFIX + type_, p.tenant_id)
    if d is None:
        raise ValidationFailed(details=[detail("type", "option", "integrations.unknown_type", type=type_[:60])])
    return d


def _run_as(p: Principal, user_id: str | None) -> str:
    user = user_id or p.user_id
    u = p.org.users.get(user)
    if u is None or not u.active:
        raise ValidationFailed(details=[detail("run_as", "inactive", "integrations.run_as_inactive")])
    return user


def _known_columns(d: EntityDef, runner: Principal) -> set[str]:
    """The column keys a mapping may name: the type's import columns for its user, and its fields and
    custom fields besides (a field the user may not write is refused per item, with the reason)."""
    from ..fields import service as fields

    keys = {c.key for c in writer.rows_.columns(d, runner, context.locale())}
    keys |= {f.key for f in d.fields if not f.readonly}
    if d.features.custom_fields:
        keys |= {f"custom.{cf.key}" for cf in fields.definitions(runner.tenant_id, d.entity) if cf.active}
    if d.features.owner:
        keys.add("owner_id")
    return keys


def _settle(p: Principal, values: dict[str, Any], sample: dict[str, Any] | None) -> dict[str, Any]:
    """The channel's type, mapping, lookups and defaults checked (and proposed by its kind's preset)."""
    runner = _principal_of(p.tenant_id, values["run_as"])
    d = _record_type(p, values["type"])
    runner_p = runner
    if not runner_p.can(d.module, "create"):
        raise ValidationFailed(details=[detail("run_as", "forbidden", "integrations.run_as_forbidden", type=d.name)])
    known = _known_columns(d, runner_p)
    mapping = values.get("mapping")
    if mapping is None and sample is not None:
        headers = list(writer.flatten(sample))
        mapping = writer.rows_.suggest(headers, writer.rows_.columns(d, runner_p, context.locale()))
    problems = []
    taken: dict[str, str] = {}
    for path, key in (mapping or {}).items():
        if key is None:
            continue
        if key not in known:
            problems.append(detail(f"mapping.{path}", "option", "imports.unknown_column", column=str(key)[:60]))
        elif key in taken:
            problems.append(detail(f"mapping.{path}", "duplicate", "imports.column_twice", column=taken[key]))
        else:
            taken[key] = path
    for path, how in (values.get("lookups") or {}).items():
        if writer.lookup_target(runner_p, how["type"], how["field"]) is None:
            problems.append(detail(f"lookups.{path}", "option", "integrations.lookup_field", type=how["type"][:60],
                                   field=how["field"][:60]))
    for key in values.get("defaults") or {}:
        if key not in known:
            problems.append(detail(f"defaults.{key}", "option", "imports.unknown_column", column=str(key)[:60]))
    if problems:
        raise ValidationFailed(details=problems)
    return {"entity": d.name, "mapping": mapping, "lookups": dict(values.get("lookups") or {}),
            "defaults": dict(values.get("defaults") or {})}


def _proposed(body: dict[str, Any]) -> dict[str, Any]:
    """The body with what its kind's preset proposes where it says nothing."""
    preset = PRESETS.get(body["kind"])
    out = dict(body)
    if preset is None:
        if not body.get("type"):
            raise ValidationFailed(details=[detail("type", "missing", "field.missing")])
        return out
    same_type = not body.get("type") or body["type"] == preset["type"]
    out["type"] = body.get("type") or preset["type"]
    if same_type:
        if body.get("mapping") is None and body.get("sample") is None:
            out["mapping"] = dict(preset["mapping"])
        if body.get("lookups") is None:
            out["lookups"] = dict(preset["lookups"])
        if body.get("defaults") is None:
            out["defaults"] = dict(preset["defaults"])
    return out


def list_channels() -> list[dict[str, Any]]:
    p = _principal()
    p.require(MODULE, "read")
    return [channel_out(c) for c in sorted(_channels(p.tenant_id), key=lambda c: c.created_at)]


def get_channel(channel_id: str) -> dict[str, Any]:
    p = _principal()
    p.require(MODULE, "read")
    return channel_out(_get(p.tenant_id, channel_id))


def create_channel(body: dict[str, Any]) -> dict[str, Any]:
    p = _principal()
    p.require(MODULE, "manage")
    body = _proposed(body)
    body["run_as"] = _run_as(p, body.get("run_as"))
    settled = _settle(p, body, body.get("sample"))
    if len(_channels(p.tenant_id)) >= MAX_CHANNELS:
        raise ValidationFailed("INBOUND_LIMIT", limit=MAX_CHANNELS)
    now = clock.now_iso()
    cid = ids.new_id()
    c = Channel(*Channel.key(p.tenant_id, cid), tenant_id=p.tenant_id, id=cid, name=body["name"], kind=body["kind"],
                duplicates=body.get("duplicates") or "skip", run_as=body["run_as"], enabled=bool(body.get("enabled", True)),
                description=body.get("description") or None, secret=secrets.token_urlsafe(32), created_at=now,
                created_by=p.user_id, updated_at=now, updated_by=p.user_id, **settled)
    changes.create(c, ENTITY, cid, p.user_id)
    metric("integrations.channel.created")
    return channel_out(c, secret=True)


def update_channel(channel_id: str, body: dict[str, Any], expected: int | None) -> dict[str, Any]:
    p = _principal()
    p.require(MODULE, "manage")
    c = _get(p.tenant_id, channel_id)
    nulls = [k for k in ("name", "type", "duplicates", "run_as", "enabled") if k in body and body[k] is None]
    if nulls:
        raise ValidationFailed(details=[detail(k, "not_null", "field.not_null") for k in nulls])
    values: dict[str, Any] = {}
    for k in ("name", "duplicates", "enabled"):
        if k in body:
            values[k] = body[k]
    if body.get("enabled") and not c.secret:
        raise ValidationFailed(details=[detail("enabled", "secret", "integrations.secret_required")])
    if "description" in body:
        values["description"] = body["description"] or None
    shaping = {k: body[k] for k in ("type", "mapping", "lookups", "defaults", "run_as") if k in body}
    if shaping or "sample" in body:
        merged = {"type": c.entity, "mapping": c.mapping, "lookups": dict(c.lookups or {}), "defaults": dict(c.defaults or {}),
                  "run_as": c.run_as, **shaping}
        if "type" in shaping and shaping["type"] != c.entity:  # another type: the old columns mean nothing there
            merged.update({k: shaping.get(k, {} if k != "mapping" else None) for k in ("mapping", "lookups", "defaults")})
        if "sample" in body and "mapping" not in body:
            merged["mapping"] = None
        merged["lookups"] = merged["lookups"] or {}
        merged["defaults"] = merged["defaults"] or {}
        merged["run_as"] = _run_as(p, merged["run_as"])
        settled = _settle(p, merged, body.get("sample"))
        values.update({"run_as": merged["run_as"], **settled})
    changes.save(c, ENTITY, c.id, p.user_id, values, expected)
    return channel_out(c)


def delete_channel(channel_id: str, expected: int | None) -> None:
    """The channel goes: its endpoint answers 401 from now on; its delivery log expires with its TTL."""
    p = _principal()
    p.require(MODULE, "manage")
    c = _get(p.tenant_id, channel_id)
    changes.delete(c, ENTITY, c.id, p.user_id, expected)


def rotate_secret(channel_id: str) -> dict[str, Any]:
    """A new secret, effective at once (the old one no longer verifies), shown this once."""
    p = _principal()
    p.require(MODULE, "manage")
    c = _get(p.tenant_id, channel_id)
    c.secret = secrets.token_urlsafe(32)
    changes.save(c, ENTITY, c.id, p.user_id, {"secret_rotated_at": clock.now_iso()}, None, action="rotate_secret")
    return channel_out(c, secret=True)


# ---- the delivery log ---------------------------------------------------------------------------
def delivery_out(dl: InboundDelivery) -> dict[str, Any]:
    return {"id": dl.id, "received_at": dl.received_at, "status": dl.status, "counts": dict(dl.counts or {}),
            "errors": list(dl.errors or []), "idempotency_key": dl.key, "replays": int(dl.replays or 0)}


def list_deliveries(channel_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = _principal()
    p.require(MODULE, "read")
    _get(p.tenant_id, channel_id)
    items, nxt = query.page(InboundDelivery, InboundDelivery.partition(p.tenant_id, channel_id), limit=limit, cursor=cursor)
    return [delivery_out(d) for d in items if isinstance(d, InboundDelivery)], nxt


# ---- the public endpoint ------------------------------------------------------------------------
def _refused() -> Unauthenticated:
    return Unauthenticated("INBOUND_UNAUTHORIZED")


def authenticate(tenant_id: str, channel_id: str, raw: bytes, timestamp: str | None, signature: str | None,
                 key: str | None = None) -> Channel:
    """The channel when the request is signed with its secret (over the key too, when one is sent),
    fresh, and the channel can write; the one 401 otherwise, whichever it was (nothing tells which
    channels exist)."""
    from ..webhooks import signing

    if not tenant_id or not channel_id or len(tenant_id) > 64 or len(channel_id) > 64:
        raise _refused()
    try:
        c = Channel.get(*Channel.key(tenant_id, channel_id))
    except DoesNotExist:
        c = None
    # the same work either way; a channel restored without a secret verifies nothing
    secret = (c.secret if isinstance(c, Channel) else None) or secrets.token_urlsafe(32)
    ok = signing.verify(secret, raw, timestamp, signature, now=clock.now().timestamp(), key=key)
    if not ok or not isinstance(c, Channel) or c.tenant_id != tenant_id or not c.enabled or not c.secret:
        metric("integrations.inbound.refused")
        raise _refused()
    from ..org import service as org

    u = org.load(tenant_id).users.get(c.run_as)
    if u is None or u.status != "active":
        logger.warning("inbound channel refused: its user is not active", extra={"channel_id": c.id})
        raise _refused()
    return c


def _items(raw: bytes) -> list[Any]:
    if len(raw) > MAX_BYTES:
        raise ValidationFailed(details=[detail("body", "length", "integrations.too_large", max="1 MB")])
    try:
        body = json.loads(raw.decode("utf-8") or "null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("INVALID_JSON") from None
    if isinstance(body, dict) and set(body) == {"items"} and isinstance(body["items"], list):
        items = body["items"]
        if not items or len(items) > MAX_ITEMS:
            raise ValidationFailed(details=[detail("items", "length", "integrations.items", max=MAX_ITEMS)])
        bad = [detail(f"items.{i}", "type", "integrations.item_object") for i, x in enumerate(items) if not isinstance(x, dict)]
        if bad:
            raise ValidationFailed(details=bad)
        return items
    if isinstance(body, dict) and body:
        return [body]
    raise ValidationFailed(details=[detail("body", "type", "integrations.body")])


def receive(tenant_id: str, channel_id: str, raw: bytes, headers: dict[str, str]) -> dict[str, Any]:
    from ..core import ratelimit

    key = (headers.get("idempotency-key") or headers.get("x-crm-delivery") or "").strip() or None
    timestamp = headers.get("x-crm-timestamp")
    c = authenticate(tenant_id, channel_id, raw, timestamp, headers.get("x-crm-signature"), key)
    ratelimit.charge(tenant_id)
    if key is not None and (len(key) > 128 or key.startswith("{")):
        # "{": a key is never the start of a JSON body, so "<ts>.<key>.<body>" and "<ts>.<body>" never sign alike
        raise ValidationFailed(details=[detail("Idempotency-Key", "length", "integrations.key")])
    items = _items(raw)
    locale = context.locale()
    delivery_id, received_at = ids.new_id(), clock.now_iso()
    marker = _marker(tenant_id, c.id, key, int(timestamp or 0), raw, delivery_id, received_at)
    resumed = False
    try:
        marker.save(condition=Replay.pk.does_not_exist())
    except PutError:
        earlier = Replay.get(marker.pk, marker.sk, consistent_read=True)
        if earlier.body_hash != marker.body_hash:
            raise ValidationFailed("IDEMPOTENCY_KEY_REUSED") from None
        if earlier.results is not None:
            _count_replay(tenant_id, c.id, earlier.delivery_id)
            metric("integrations.inbound.replayed")
            return {"delivery_id": earlier.delivery_id, "replayed": True, "results": earlier.results}
        if clock.now() - clock.parse_iso(earlier.received_at) < timedelta(seconds=IN_FLIGHT_SECONDS):
            metric("integrations.inbound.in_progress")
            raise _in_progress() from None
        # the first attempt died before answering: the same delivery again (its records keep their ids)
        marker, delivery_id, received_at, resumed = earlier, earlier.delivery_id, earlier.received_at, True
    p = _principal_of(tenant_id, c.run_as)
    outcomes = deliver(c, p, items, locale, f"{c.id}#{delivery_id}", received_at, resumed)
    results = [o.out() for o in outcomes]
    _log(c, delivery_id, received_at, key, outcomes)
    marker.update(actions=[Replay.results.set(results)])
    return {"delivery_id": delivery_id, "replayed": False, "results": results}


def _marker(tenant_id: str, channel_id: str, key: str | None, ts: int, raw: bytes, delivery_id: str,
            received_at: str) -> Replay:
    """The replay marker of a delivery: by its Idempotency-Key (signed with the body, kept for the API's
    idempotency TTL), or without one by the signed content itself — timestamp and body — kept until
    its signature can no longer verify (a byte-for-byte resend within the window finds it)."""
    from ..webhooks import signing

    digest = hashlib.sha256(raw).hexdigest()
    if key is not None:
        sk = hashlib.sha256(key.encode()).hexdigest()[:32]
        expires = clock.now() + timedelta(hours=get_settings().idempotency_ttl_hours)
    else:
        sk = SIGNED_PREFIX + hashlib.sha256(signing.signed_content(ts, raw)).hexdigest()
        expires = datetime.fromtimestamp(ts, UTC) + timedelta(seconds=signing.TOLERANCE_SECONDS + MARKER_MARGIN_SECONDS)
    return Replay(*Replay.key(tenant_id, channel_id, sk), tenant_id=tenant_id, body_hash=digest, delivery_id=delivery_id,
                  received_at=received_at, expires_at=max(expires, clock.now() + timedelta(seconds=MARKER_MARGIN_SECONDS)))


def _in_progress() -> Conflict:
    e = Conflict("INBOUND_IN_PROGRESS")
    e.headers = {"Retry-After": "2"}
    return e


def _count_replay(tenant_id: str, channel_id: str, delivery_id: str) -> None:
    try:
        InboundDelivery(InboundDelivery.partition(tenant_id, channel_id), delivery_id).update(
            actions=[InboundDelivery.replays.add(1)], condition=InboundDelivery.pk.exists())
    except Exception:  # the log entry expired or was never written: the answer stands
        logger.info("inbound replay not counted", extra={"delivery_id": delivery_id})


def deliver(c: Channel, p: Principal, items: list[dict[str, Any]], locale: str, delivery_key: str, received_at: str,
            resumed: bool) -> list[writer.Outcome]:
    """Each item as an import row of the channel's type, written as the channel's user."""
    d = registry.find(c.entity, c.tenant_id)
    if d is None:  # the custom object was deleted since
        from ..core.i18n import text

        return [writer.Outcome(i, "rejected", errors=[{"column": None, "message": text("integrations.type_gone", locale)}])
                for i in range(len(items))]
    lookups = dict(c.lookups or {})
    defaults = dict(c.defaults or {})
    flat = [writer.flatten(x) for x in items]
    if c.mapping is not None:
        mapping = {k: v for k, v in c.mapping.items() if v}
    else:  # suggested from the keys the items hold, as an import's headers are
        seen = list(dict.fromkeys(k for f in flat for k in f))
        mapping = {k: v for k, v in writer.rows_.suggest(seen, writer.rows_.columns(d, p, locale)).items() if v}
    mapped_cols = set(mapping.values())
    extra = {f"={col}": col for col in defaults if col not in mapped_cols}
    headers = [*mapping, *extra]
    rows = writer.Rows(p, d, headers, {**mapping, **extra}, c.duplicates, locale, delivery_key, received_at, resumed)
    writable = {col.key for col in rows.columns}
    out: dict[int, writer.Outcome] = {}
    batch: list[tuple[int, list[Any]]] = []
    for i, item in enumerate(items):
        cells: list[Any] = []
        errors: list[dict[str, Any]] = []
        for path, col in mapping.items():
            value = writer.cell(writer.value_at(item, path))
            if value is None or value == "":
                value = defaults.get(col)
            if value is not None and value != "" and col not in writable:
                errors.append({"column": path, "message": writer.not_writable(locale)})
                value = None
            if value is not None and value != "" and path in lookups:
                value = _looked_up(p, lookups[path], value, path, locale, errors)
            cells.append(value)
        cells += [defaults[col] for col in extra.values()]
        if errors:
            out[i] = writer.Outcome(i, "rejected", errors=errors)
        else:
            batch.append((i, cells))
    for o in rows.write(batch) if batch else []:
        out[o.index] = o
    return [out[i] for i in range(len(items))]


def _looked_up(p: Principal, how: dict[str, str], value: Any, path: str, locale: str, errors: list[dict[str, Any]]) -> Any:
    from ..core.i18n import text

    found = writer.resolve(p, how["type"], how["field"], value)
    if len(found) == 1:
        return found[0]
    d = writer.lookup_target(p, how["type"], how["field"])
    kind = d.label[1 if locale == "en" else 0] if d is not None else how["type"]
    spec = d.field(how["field"]) if d is not None else None
    field = spec.label_in(locale) if spec is not None else how["field"]
    key = "integrations.lookup_ambiguous" if found else "integrations.lookup_none"
    errors.append({"column": path, "message": text(key, locale, type=kind, field=field, value=str(value)[:60])})
    return None


def _log(c: Channel, delivery_id: str, received_at: str, key: str | None, outcomes: list[writer.Outcome]) -> None:
    counts = {"total": len(outcomes), **{s: sum(1 for o in outcomes if o.status == s)
                                         for s in ("created", "updated", "skipped", "rejected")}}
    status = "rejected" if counts["rejected"] == counts["total"] else "partial" if counts["rejected"] else "succeeded"
    InboundDelivery(InboundDelivery.partition(c.tenant_id, c.id), delivery_id, tenant_id=c.tenant_id, id=delivery_id,
                    channel_id=c.id, received_at=received_at, status=status, counts=counts,
                    errors=[{"index": o.index, "errors": o.errors} for o in outcomes if o.status == "rejected"][:ERRORS_KEPT],
                    key=key[:128] if key else None,
                    expires_at=clock.now() + timedelta(days=DELIVERY_TTL_DAYS)).save()
    metric("integrations.inbound.items", len(outcomes))
