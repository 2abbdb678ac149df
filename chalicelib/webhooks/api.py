"""HTTP routes of webhooks (PLAT-10): register endpoints, rotate their secret, read the delivery log,
redeliver, ping. Schemas and the service load on first use (cold start)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "webhooks"


def _service():  # noqa: ANN202 - the module, imported on first use
    from . import service

    return service


@route(bp, "/webhooks", summary="The tenant's webhooks (webhooks:read); secrets are never listed", tag=TAG,
       response=s.WebhookList)
def list_webhooks(req: ApiRequest) -> dict:
    return {"items": _service().list_webhooks()}


@route(bp, "/webhooks", "POST", summary="Register a webhook for event types (webhooks:manage); the answer holds its "
       "signing secret, shown this once", tag=TAG, body=s.WebhookIn, response=s.WebhookWithSecret, status=201)
def create_webhook(req: ApiRequest) -> dict:
    return _service().create_webhook(req.body.model_dump())


@route(bp, "/webhooks/{webhook_id}", summary="One webhook (webhooks:read)", tag=TAG, response=s.WebhookOut)
def get_webhook(req: ApiRequest, webhook_id: str) -> dict:
    return _service().get_webhook(webhook_id)


@route(bp, "/webhooks/{webhook_id}", "PATCH", summary="Change a webhook's URL, events, owner, description or enabled "
       "(webhooks:manage; If-Match or version)", tag=TAG, body=s.WebhookPatch, response=s.WebhookOut, versioned_write=True)
def update_webhook(req: ApiRequest, webhook_id: str) -> dict:
    b = req.body
    return _service().update_webhook(webhook_id, b.model_dump(exclude_unset=True, exclude={"version"}),
                                     req.expected_version(b.version))


@route(bp, "/webhooks/{webhook_id}", "DELETE", summary="Delete a webhook (webhooks:manage; If-Match)", tag=TAG,
       status=204, versioned_write=True)
def delete_webhook(req: ApiRequest, webhook_id: str) -> None:
    _service().delete_webhook(webhook_id, req.expected_version())


@route(bp, "/webhooks/{webhook_id}/rotate-secret", "POST", summary="Replace the signing secret (webhooks:manage); the "
       "new one is shown this once and signs every attempt from now on", tag=TAG, response=s.WebhookWithSecret)
def rotate_secret(req: ApiRequest, webhook_id: str) -> dict:
    return _service().rotate_secret(webhook_id)


@route(bp, "/webhooks/{webhook_id}/deliveries", summary="The webhook's delivery log, newest first (webhooks:read)",
       tag=TAG, query=s.DeliveryQuery, response=s.DeliveryPage)
def list_deliveries(req: ApiRequest, webhook_id: str) -> dict:
    items, nxt = _service().list_deliveries(webhook_id, req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/webhooks/{webhook_id}/deliveries/{delivery_id}", summary="One delivery with its attempts (webhooks:read)",
       tag=TAG, response=s.DeliveryOut)
def get_delivery(req: ApiRequest, webhook_id: str, delivery_id: str) -> dict:
    return _service().get_delivery(webhook_id, delivery_id)


@route(bp, "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", "POST", summary="Send a delivery's body again, "
       "now, as a new delivery with its own retries (webhooks:manage)", tag=TAG, response=s.DeliveryOut)
def redeliver(req: ApiRequest, webhook_id: str, delivery_id: str) -> dict:
    return _service().redeliver(webhook_id, delivery_id)


@route(bp, "/webhooks/{webhook_id}/ping", "POST", summary="Send a webhooks.webhook.ping delivery now (webhooks:manage)",
       tag=TAG, response=s.DeliveryOut)
def ping(req: ApiRequest, webhook_id: str) -> dict:
    return _service().ping(webhook_id)
