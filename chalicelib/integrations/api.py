"""HTTP routes of inbound integrations (集成): channels (administrators), their delivery logs, and the
public, signed endpoint other systems post to. Schemas and the service load on first use (cold start)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "integrations"


def _service():  # noqa: ANN202 - the module, imported on first use
    from . import service

    return service


@route(bp, "/integrations/inbound", summary="The tenant's inbound channels (integrations:read); secrets are never listed",
       tag=TAG, response=s.ChannelList)
def list_channels(req: ApiRequest) -> dict:
    return {"items": _service().list_channels()}


@route(bp, "/integrations/inbound", "POST", summary="Make an inbound channel (integrations:manage); the answer holds its "
       "signing secret, shown this once", tag=TAG, body=s.ChannelIn, response=s.ChannelWithSecret, status=201)
def create_channel(req: ApiRequest) -> dict:
    return _service().create_channel(req.body.model_dump(exclude_unset=True))


@route(bp, "/integrations/inbound/{channel_id}", summary="One inbound channel (integrations:read)", tag=TAG,
       response=s.ChannelOut)
def get_channel(req: ApiRequest, channel_id: str) -> dict:
    return _service().get_channel(channel_id)


@route(bp, "/integrations/inbound/{channel_id}", "PATCH", summary="Change a channel's name, type, mapping, lookups, "
       "defaults, duplicates, user or enabled (integrations:manage; If-Match or version)", tag=TAG, body=s.ChannelPatch,
       response=s.ChannelOut, versioned_write=True)
def update_channel(req: ApiRequest, channel_id: str) -> dict:
    b = req.body
    return _service().update_channel(channel_id, b.model_dump(exclude_unset=True, exclude={"version"}),
                                     req.expected_version(b.version))


@route(bp, "/integrations/inbound/{channel_id}", "DELETE", summary="Delete a channel (integrations:manage; If-Match): "
       "its endpoint answers 401 from then on", tag=TAG, status=204, versioned_write=True)
def delete_channel(req: ApiRequest, channel_id: str) -> None:
    _service().delete_channel(channel_id, req.expected_version())


@route(bp, "/integrations/inbound/{channel_id}/rotate-secret", "POST", summary="Replace the signing secret "
       "(integrations:manage); the new one is shown this once and the old one stops verifying", tag=TAG,
       response=s.ChannelWithSecret)
def rotate_secret(req: ApiRequest, channel_id: str) -> dict:
    return _service().rotate_secret(channel_id)


@route(bp, "/integrations/inbound/{channel_id}/deliveries", summary="The channel's delivery log, newest first: counts and "
       "rejected items' reasons, never payloads (integrations:read)", tag=TAG, query=s.InboundDeliveryQuery, response=s.InboundDeliveryPage)
def list_deliveries(req: ApiRequest, channel_id: str) -> dict:
    items, nxt = _service().list_deliveries(channel_id, req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/inbound/{tenant_id}/{channel_id}", "POST", summary="Deliver records to an inbound channel (no token: "
       "signed with the channel's secret)", tag=TAG, response=s.InboundAnswer, public=True, idempotent_create=True,
       description="Headers: `X-CRM-Timestamp` (Unix seconds) and `X-CRM-Signature: v1=<hex HMAC-SHA256(secret, "
                   "\"<timestamp>.<raw body>\")>`, at most 5 minutes off; a wrong or missing signature, a stale "
                   "timestamp and an unknown or disabled channel all answer the same 401. `Idempotency-Key` (or "
                   "`X-CRM-Delivery`, at most 128 characters): the signature then covers it, \"<timestamp>.<key>.<raw "
                   "body>\". A resend — the same bytes within the 5 minutes, or the same key and body — answers the "
                   "first result (`replayed: true`) and writes nothing; while the first is still being written it "
                   "gets 409 `INBOUND_IN_PROGRESS` with Retry-After. Body: one JSON object, or "
                   "`{\"items\": [...]}` of at most 100 objects; each is mapped to a record of the channel's type and "
                   "written as an import row is (validation, duplicates, limits, log, events). The answer tells each "
                   "item's fate, in the language of Accept-Language.")
def receive(req: ApiRequest, tenant_id: str, channel_id: str) -> dict:
    raw = bp.current_request.raw_body or b""
    return _service().receive(tenant_id, channel_id, raw, req.headers)
