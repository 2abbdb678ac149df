"""HTTP routes of invoices beyond the engine's (the standard routes, submit included, come from it)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, route
from ..engine import models
from . import schemas as s
from . import service
from .entity import INVOICE

bp = Blueprint(__name__)
TAG = "invoices"


@route(bp, "/invoices/{invoice_id}/issue", "POST", summary="Issue an approved invoice request (开票): invoice number (unique) "
       "and date; roles with the issue action", tag=TAG, body=s.IssueIn, response=models.lazy_out(INVOICE), versioned_write=True)
def issue(req: ApiRequest, invoice_id: str) -> dict:
    b = req.body
    return service.issue(invoice_id, b.invoice_number, b.invoice_date, req.expected_version(b.version))


@route(bp, "/invoices/{invoice_id}/void", "POST", summary="Void an approved request or an issued invoice (作废/红冲; issued: "
       "roles with the issue action); its amount goes back to the contract", tag=TAG, body=s.VoidIn,
       response=models.lazy_out(INVOICE), versioned_write=True)
def void(req: ApiRequest, invoice_id: str) -> dict:
    return service.void(invoice_id, req.body.reason, req.expected_version(req.body.version))
