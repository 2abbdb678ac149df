"""Webhooks (PLAT-10): tenants' endpoints for domain events, signed, retried, logged.

The rules:
- Administrators (webhooks:manage) register an https URL for event types: exact types
  (`customers.customer.created`) or patterns with `*` (`customers.*`, `*.*.created`, `*`). The URL
  passes the SSRF guard (guard.py) when registered and again before every attempt.
- The secret is made here (secrets.token_urlsafe), shown once when the webhook is created and when it
  is rotated, never in a list, a read or the operation log.
- Every domain event on the bus reaches functions/webhooks.py (EventBridge -> SQS -> Lambda), which
  calls `dispatch`: one Query of the event's own tenant's webhooks; each enabled webhook whose
  patterns match gets one delivery (idempotent by event id + webhook id) and a first attempt.
- A payload shows the record as the webhook's owner sees it (the admin who registered it, or the
  integration user chosen as owner): hidden fields absent, masked ones masked, a record the owner may
  not read is not delivered at all. The body is fixed when the delivery is made; every attempt sends
  the same bytes, signed anew with the attempt's timestamp (signing.py).
- A failed attempt (no 2xx, a time-out, a refused address, a redirect: never followed) is retried
  with exponential back-off and full jitter (CRM_WEBHOOK_RETRY_BASE_SECONDS doubling, at most
  CRM_WEBHOOK_RETRY_MAX_SECONDS) through an EventBridge Scheduler one-time schedule per delivery and
  attempt (`wh-<digest>-<attempt>`, target functions/reminders.py, kind `webhook_retry`), until
  CRM_WEBHOOK_RETRY_HOURS after the delivery was made; then it is dead-lettered. Administrators see
  each webhook's delivery log (newest first) and may redeliver any delivery (a new delivery of the
  same body) or ping the endpoint.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import random
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..core import clock, context, ids
from ..core.errors import Forbidden, NotFound, Problem, ValidationFailed, detail
from ..core.observability import logger, metric
from ..core.permissions import FieldAccess, Principal
from ..core.settings import get_settings
from ..db import changes, query
from ..db.base import Item
from ..ports import scheduler
from . import guard, sender, signing
from .models import ENTITY, Delivery, Webhook

MODULE = "webhooks"
RETRY_KIND = "webhook_retry"
PING = "webhooks.webhook.ping"
LOG_KEPT = 40  # attempts kept in a delivery's log (a day of back-off is about 30)
DELIVERY_TTL_DAYS = 30
_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*)(\.(\*|[a-z][a-z0-9_]*)){0,2}$")
GONE_VERBS = ("deleted", "purged")  # the record is in the recycle bin (or gone): ids only


# ---- registration -------------------------------------------------------------------------
def _principal() -> Principal:
    from ..org import service as org

    return org.principal()


def known_modules() -> set[str]:
    from .. import manifest

    return {m.name for m in manifest.modules()} | {d.events_of for d in manifest.entities()} | {MODULE}


def _check_events(patterns: list[str]) -> list[str]:
    problems, seen, out = [], set(), []
    modules = known_modules()
    for i, raw in enumerate(patterns):
        p = raw.strip()
        if not _PATTERN.match(p):
            problems.append(detail(f"events.{i}", "pattern", "webhook.event_pattern", value=raw))
        elif p.split(".")[0] != "*" and p.split(".")[0] not in modules:
            problems.append(detail(f"events.{i}", "unknown", "webhook.event_unknown", value=raw))
        elif p not in seen:
            seen.add(p)
            out.append(p)
    if problems:
        raise ValidationFailed(details=problems)
    return out


def _check_url(url: str) -> str:
    try:
        guard.check(url)
    except Problem as e:
        raise ValidationFailed(details=[detail("url", e.kind if e.kind != "invalid" else "url", e.key, **e.params)]) from None
    return url


def _check_owner(p: Principal, owner_id: str | None) -> str:
    owner = owner_id or p.user_id
    if owner != p.user_id and not p.is_super:  # no reading, through someone else's rights, what the caller may not
        raise ValidationFailed(details=[detail("owner_id", "forbidden", "webhook.owner_other")])
    u = p.org.users.get(owner)
    if u is None or not u.active:
        raise ValidationFailed(details=[detail("owner_id", "inactive", "webhook.owner_inactive")])
    return owner


def webhook_out(w: Webhook, *, secret: bool = False) -> dict[str, Any]:
    out = {"id": w.id, **w.values(), "has_secret": bool(w.secret), "created_at": w.created_at, "created_by": w.created_by,
           "updated_at": w.updated_at, "version": int(w.version)}
    if secret:
        out["secret"] = w.secret
    return out


def _webhooks(tenant_id: str) -> list[Webhook]:
    """Every webhook of the tenant: one Query of its partition."""
    return [w for w in Item.query(Webhook.partition(tenant_id)) if isinstance(w, Webhook)]


def _get(tenant_id: str, webhook_id: str) -> Webhook:
    return query.one(Webhook, *Webhook.key(tenant_id, webhook_id), "entity.webhook")  # type: ignore[return-value]


def list_webhooks() -> list[dict[str, Any]]:
    p = _principal()
    p.require(MODULE, "read")
    return [webhook_out(w) for w in sorted(_webhooks(p.tenant_id), key=lambda w: w.created_at)]


def get_webhook(webhook_id: str) -> dict[str, Any]:
    p = _principal()
    p.require(MODULE, "read")
    return webhook_out(_get(p.tenant_id, webhook_id))


def create_webhook(body: dict[str, Any]) -> dict[str, Any]:
    p = _principal()
    p.require(MODULE, "manage")
    url = _check_url(body["url"])
    events = _check_events(body["events"])
    owner = _check_owner(p, body.get("owner_id"))
    limit = get_settings().webhook_max_per_tenant
    if len(_webhooks(p.tenant_id)) >= limit:
        raise ValidationFailed("WEBHOOK_LIMIT", limit=limit)
    now = clock.now_iso()
    w = Webhook(*Webhook.key(p.tenant_id, ids.new_id()), tenant_id=p.tenant_id, url=url, events=events,
                description=body.get("description") or None, enabled=bool(body.get("enabled", True)), owner_id=owner,
                secret=secrets.token_urlsafe(32), created_at=now, created_by=p.user_id, updated_at=now, updated_by=p.user_id)
    w.id = w.sk
    changes.create(w, ENTITY, w.id, p.user_id)
    metric("webhooks.webhook.created")
    return webhook_out(w, secret=True)


def update_webhook(webhook_id: str, body: dict[str, Any], expected: int | None) -> dict[str, Any]:
    p = _principal()
    p.require(MODULE, "manage")
    w = _get(p.tenant_id, webhook_id)
    nulls = [k for k in ("url", "events", "enabled", "owner_id") if k in body and body[k] is None]
    if nulls:
        raise ValidationFailed(details=[detail(k, "not_null", "field.not_null") for k in nulls])
    values: dict[str, Any] = {}
    if "url" in body:
        values["url"] = _check_url(body["url"])
    if "events" in body:
        values["events"] = _check_events(body["events"])
    if "owner_id" in body:
        values["owner_id"] = _check_owner(p, body["owner_id"])
    if "description" in body:
        values["description"] = body["description"] or None
    if "enabled" in body:
        if body["enabled"] and not w.secret:
            raise ValidationFailed(details=[detail("enabled", "secret", "webhook.secret_required")])
        values["enabled"] = bool(body["enabled"])
    changes.save(w, ENTITY, w.id, p.user_id, values, expected)
    return webhook_out(w)


def delete_webhook(webhook_id: str, expected: int | None) -> None:
    """The webhook goes; its delivery log expires with its items' TTL, pending retries find nothing to do."""
    p = _principal()
    p.require(MODULE, "manage")
    w = _get(p.tenant_id, webhook_id)
    changes.delete(w, ENTITY, w.id, p.user_id, expected)


def rotate_secret(webhook_id: str) -> dict[str, Any]:
    """A new secret, effective at once (the next attempt is signed with it), shown this once."""
    p = _principal()
    p.require(MODULE, "manage")
    w = _get(p.tenant_id, webhook_id)
    w.secret = secrets.token_urlsafe(32)
    changes.save(w, ENTITY, w.id, p.user_id, {"secret_rotated_at": clock.now_iso()}, None, action="rotate_secret")
    return webhook_out(w, secret=True)


# ---- the delivery log -----------------------------------------------------------------------
def delivery_out(d: Delivery) -> dict[str, Any]:
    return {"id": d.id, "webhook_id": d.webhook_id, "event_id": d.event_id, "event_type": d.event_type, "status": d.status,
            "attempts": int(d.attempts or 0), "next_attempt_at": d.next_attempt_at,
            "last_status_code": None if d.last_status_code is None else int(d.last_status_code),
            "last_latency_ms": None if d.last_latency_ms is None else int(d.last_latency_ms), "last_error": d.last_error,
            "created_at": d.created_at, "delivered_at": d.delivered_at, "redelivery_of": d.redelivery_of,
            "log": list(d.log or [])}


def list_deliveries(webhook_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = _principal()
    p.require(MODULE, "read")
    _get(p.tenant_id, webhook_id)
    items, nxt = query.page(Delivery, Delivery.partition(p.tenant_id, webhook_id), limit=limit, cursor=cursor)
    return [delivery_out(d) for d in items if isinstance(d, Delivery)], nxt


def get_delivery(webhook_id: str, delivery_id: str) -> dict[str, Any]:
    p = _principal()
    p.require(MODULE, "read")
    return delivery_out(_delivery(p.tenant_id, webhook_id, delivery_id))


def _delivery(tenant_id: str, webhook_id: str, delivery_id: str) -> Delivery:
    return query.one(Delivery, *Delivery.key(tenant_id, webhook_id, delivery_id), "entity.webhook_delivery")  # type: ignore[return-value]


def redeliver(webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """Send a delivery's body once more, as a new delivery (its own attempts and retries)."""
    p = _principal()
    p.require(MODULE, "manage")
    w = _get(p.tenant_id, webhook_id)
    original = _delivery(p.tenant_id, webhook_id, delivery_id)
    d = _new_delivery(w, ids.new_id(), original.event_id, original.event_type, original.body, redelivery_of=original.id)
    d.save()
    metric("webhooks.delivery.redelivered")
    return delivery_out(attempt(w, d) or d)


def ping(webhook_id: str) -> dict[str, Any]:
    """A `webhooks.webhook.ping` delivery, sent now: does the endpoint answer, and verify our signature?"""
    p = _principal()
    p.require(MODULE, "manage")
    w = _get(p.tenant_id, webhook_id)
    event_id = ids.new_id()
    body = _body(event_id, PING, clock.now_iso(), p.tenant_id, {"webhook_id": w.id, "actor_id": p.user_id})
    d = _new_delivery(w, event_id, event_id, PING, body)
    d.save()
    return delivery_out(attempt(w, d) or d)


# ---- events -> deliveries ---------------------------------------------------------------------
INTERNAL = ("jobs.job.queued",)  # the product's own plumbing on the bus, not business events


def matches(patterns: list[str], event_type: str) -> bool:
    return event_type not in INTERNAL and any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def _body(event_id: str, event_type: str, occurred_at: str, tenant_id: str, data: dict[str, Any]) -> str:
    return json.dumps({"id": event_id, "type": event_type, "occurred_at": occurred_at, "tenant_id": tenant_id,
                       "data": data}, ensure_ascii=False, separators=(",", ":"), default=str)


def payload_data(tenant_id: str, owner_id: str, detail_: dict[str, Any]) -> dict[str, Any] | None:
    """The event's `data` as the webhook's owner may see it; None when they may not see the record.

    A record event carries the record itself (`record`), loaded as the owner (engine.service.out:
    their data scope and field rules); the names of changed fields the owner may not see are left
    out. Other events (hand-over, approvals) carry their ids as published."""
    from ..engine import registry
    from ..engine import service as engine
    from ..org import service as org

    snap = org.load(tenant_id).snapshot
    user = snap.users.get(owner_id)
    if user is None or not user.active:
        return None
    data = {k: v for k, v in detail_.items() if k != "tenant_id"}
    d = registry.find(str(detail_.get("entity") or ""), tenant_id) if detail_.get("entity") and detail_.get("id") else None
    if d is None:
        return data
    p = Principal(tenant_id, owner_id, snap)
    if not p.can(d.module, "read"):
        return None
    if "changed" in data:
        data["changed"] = [f for f in data["changed"] if d.field(f) is None or p.field_access(d.module, f) is not FieldAccess.HIDDEN]
    verb = str(detail_.get("verb") or "")
    if verb in GONE_VERBS:
        ok = p.record_access(d.module, str(detail_.get("owner_id") or ""), None, clock.now_iso()) is not None
        return data if ok else None
    try:
        data["record"] = engine.out(d, engine.load(d, p, str(detail_["id"]), "read"), p)
    except (NotFound, Forbidden):
        return None
    return data


def _delivery_id(event_id: str, webhook_id: str, occurred_at: str) -> str:
    try:
        at_ms = int(clock.parse_iso(occurred_at).timestamp() * 1000)
    except ValueError:
        at_ms = int(clock.now().timestamp() * 1000)
    return ids.derived_id(at_ms, f"{event_id}|{webhook_id}")


def _new_delivery(w: Webhook, delivery_id: str, event_id: str, event_type: str, body: str, *,
                  redelivery_of: str | None = None, published_at: str | None = None) -> Delivery:
    now = clock.now()
    return Delivery(*Delivery.key(w.tenant_id, w.id, delivery_id), tenant_id=w.tenant_id, id=delivery_id, webhook_id=w.id,
                    event_id=event_id, event_type=event_type, body=body, status="pending", attempts=0,
                    next_attempt_at=clock.iso(now), redelivery_of=redelivery_of, published_at=published_at,
                    created_at=clock.iso(now), created_by="system", updated_at=clock.iso(now), updated_by="system",
                    expires_at=now + timedelta(days=DELIVERY_TTL_DAYS), log=[])


def dispatch(event: dict[str, Any]) -> int:
    """One bus event (EventBridge shape) -> a delivery per matching webhook of its tenant. Returns the
    number of deliveries made now (an event seen before makes none)."""
    detail_ = event.get("detail") or {}
    tenant_id, event_type, event_id = detail_.get("tenant_id"), event.get("detail-type"), event.get("id")
    if not tenant_id or not event_type or not event_id:
        return 0
    event_type = str(event_type)
    occurred_at = str(event.get("time") or clock.now_iso())
    hooks = [w for w in _webhooks(str(tenant_id)) if w.enabled and w.secret and matches(list(w.events or []), event_type)]
    made = 0
    for w in hooks:
        data = payload_data(w.tenant_id, w.owner_id, {**detail_, "verb": event_type.rsplit(".", 1)[-1]})
        if data is None:
            logger.info("webhook event not visible to its owner", extra={"webhook_id": w.id, "event_type": event_type})
            continue
        data.pop("verb", None)
        delivery_id = _delivery_id(str(event_id), w.id, occurred_at)
        d = _new_delivery(w, delivery_id, str(event_id), event_type, _body(str(event_id), event_type, occurred_at,
                                                                             w.tenant_id, data), published_at=occurred_at)
        try:
            d.save()
        except PutError as e:
            if e.cause_response_code != "ConditionalCheckFailedException":
                raise
            existing = Delivery.get(*Delivery.key(w.tenant_id, w.id, delivery_id), consistent_read=True)
            if existing.status != "pending" or int(existing.attempts or 0) > 0:
                continue  # a redelivered event: sent (or being retried) already
            d = existing  # made, but its first attempt never ran (the handler stopped in between)
        made += 1
        attempt(w, d)
    return made


# ---- attempts -----------------------------------------------------------------------------
def _schedule_name(d: Delivery, attempt_no: int) -> str:
    digest = hashlib.sha256(f"{d.tenant_id}|{d.webhook_id}|{d.id}".encode()).hexdigest()[:32]
    return scheduler.schedule_name("wh", digest, str(attempt_no))


def _arm(d: Delivery, attempt_no: int, when: datetime) -> None:
    scheduler.upsert(_schedule_name(d, attempt_no), when, {"kind": RETRY_KIND, "tenant_id": d.tenant_id,
                                                          "webhook_id": d.webhook_id, "delivery_id": d.id, "attempt": attempt_no})


def backoff_seconds(attempt_no: int, rng: random.Random | None = None) -> float:
    """Delay after the `attempt_no`-th failed attempt: full jitter over base·2^(n-1), capped."""
    s = get_settings()
    ceiling = min(s.webhook_retry_max_seconds, s.webhook_retry_base_seconds * 2 ** (attempt_no - 1))
    return max(1.0, (rng or random).uniform(ceiling / 2, ceiling))


def attempt(w: Webhook, d: Delivery) -> Delivery | None:
    """Send delivery `d` once; record the outcome; arm the next retry or dead-letter it.
    None when another worker holds this attempt."""
    s = get_settings()
    n = int(d.attempts or 0) + 1
    d.attempts = n
    d.updated_at = clock.now_iso()
    try:
        d.save()  # the claim: version-checked, so two workers never send the same attempt
    except (PutError, UpdateError):
        return None
    # the next attempt is armed before this one is made: should this worker stop before recording the outcome
    # (its Lambda timed out on a slow endpoint), the delivery is retried rather than left claimed for ever
    fallback = clock.now() + timedelta(seconds=s.webhook_timeout_seconds + backoff_seconds(n))
    _arm(d, n + 1, fallback)
    if not w.enabled or not w.secret:
        outcome = sender.Outcome(None, 0, "webhook disabled")
    else:
        try:
            target = guard.check(w.url)
        except Problem as e:
            outcome = sender.Outcome(None, 0, f"refused: {e.message('en')}")
        else:
            body = d.body.encode()
            ts = int(clock.now().timestamp())
            outcome = sender.post(target, body, signing.headers(w.secret, ts, body, d.event_type, d.id), s.webhook_timeout_seconds)
    now = clock.now()
    entry: dict[str, Any] = {"attempt": n, "at": clock.iso(now), "status_code": outcome.status_code,
                             "latency_ms": outcome.latency_ms, "error": outcome.error}
    d.last_status_code, d.last_latency_ms, d.last_error = outcome.status_code, outcome.latency_ms, outcome.error
    if outcome.ok:
        scheduler.delete(_schedule_name(d, n + 1))
        d.status, d.delivered_at, d.next_attempt_at = "succeeded", clock.iso(now), None
        metric("webhooks.delivery.succeeded")
    else:
        delay = backoff_seconds(n)
        deadline = clock.parse_iso(d.created_at) + timedelta(hours=s.webhook_retry_hours)
        when = now + timedelta(seconds=delay)
        if w.enabled and when <= deadline:
            d.status, d.next_attempt_at = "retrying", clock.iso(when)
            entry["next_attempt_at"] = d.next_attempt_at
            _arm(d, n + 1, when)
            metric("webhooks.delivery.failed")
        else:
            scheduler.delete(_schedule_name(d, n + 1))
            d.status, d.next_attempt_at = "dead_lettered", None
            metric("webhooks.delivery.dead_lettered")
            logger.warning("webhook delivery dead-lettered", extra={"webhook_id": d.webhook_id, "delivery_id": d.id,
                                                                    "attempts": n, "error": outcome.error})
    d.log = [*(d.log or []), entry][-LOG_KEPT:]
    d.updated_at = clock.iso(now)
    d.save()
    return d


def retry(tenant_id: str, webhook_id: str, delivery_id: str, attempt_no: int) -> bool:
    """The Scheduler's retry of a delivery (functions/reminders.py, kind webhook_retry). A retry fired
    twice, or after the delivery moved on, does nothing."""
    try:
        d = Delivery.get(*Delivery.key(tenant_id, webhook_id, delivery_id), consistent_read=True)
        w = Webhook.get(*Webhook.key(tenant_id, webhook_id), consistent_read=True)
    except DoesNotExist:
        return False
    # "pending"/"retrying" with the attempt before this one claimed: its worker failed or stopped before recording it
    if d.status not in ("pending", "retrying") or int(d.attempts or 0) + 1 != int(attempt_no):
        return False
    done = attempt(w, d)
    return done is not None and done.status == "succeeded"


def fire_retry(event: dict[str, Any]) -> bool:
    with context.acting_as(context.system_context(event["tenant_id"])):
        return retry(event["tenant_id"], event["webhook_id"], event["delivery_id"], int(event["attempt"]))
