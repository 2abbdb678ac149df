"""Custom resource: the search domain's fine-grained access control roles and role mappings.

CloudFormation cannot configure the OpenSearch security plugin and ``AwsCustomResource``
cannot sign arbitrary HTTP requests, so this handler calls the plugin's REST API itself,
signed with SigV4 by botocore (which the Lambda Python runtime includes; nothing else is
needed). Its execution role is the domain's FGAC master user; IAM lets that role reach
only ``_plugins/_security/api/*``.

Resource properties (set by ``infra/stack.py``):

- ``Endpoint``: the domain endpoint (host name, no scheme);
- ``Roles``: ``{role name: {"cluster_permissions": [...], "index_permissions": [...]}}``;
- ``Mappings``: ``{role name: [IAM role ARN, ...]}`` (backend roles: Lambda execution roles);
- ``DomainName`` and ``AccessPolicies`` (optional): the domain's access policy, set with
  ``UpdateDomainConfig`` on Create and Update. The domain is in the data stack and the roles the policy
  names in the stage's stack, which the data stack must not refer to; on Delete the policy is cut
  back to the statements that name the master role (the handler's own role) alone.

Create and Update PUT every role, then its mapping (PUT replaces, so a repeat is harmless);
Update also deletes the roles the new properties no longer list. Delete removes them, best
effort: a domain deleted with the stack takes them along anyway. The handler always answers
CloudFormation, before the function times out, so a stack never waits an hour on it.
"""
from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session

logger = logging.getLogger()
logger.setLevel(logging.INFO)

SECURITY_API = "_plugins/_security/api"
#: Answers worth retrying: throttling, service errors, and 401/403 while a new domain and
#: the master role's IAM policy settle.
RETRYABLE_STATUSES = frozenset({401, 403, 429, 500, 502, 503, 504})
#: Seconds kept in hand to answer CloudFormation before the function times out.
RESPONSE_MARGIN_SECONDS = 20
REQUEST_TIMEOUT_SECONDS = 30


class SecurityApiError(Exception):
    """The security API refused a request, or kept failing until the deadline."""


def handler(event: dict[str, Any], context: Any) -> None:
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESPONSE_MARGIN_SECONDS
    props = event["ResourceProperties"]
    request_type = event["RequestType"]
    # The endpoint names the resource: a replaced domain means a new resource, and
    # CloudFormation then deletes the old one (on the old endpoint).
    physical_id = event.get("PhysicalResourceId") if request_type == "Delete" else f"{props['Endpoint']}/security-roles"
    status, reason = "SUCCESS", ""
    try:
        if request_type == "Delete":
            _delete_roles(props["Endpoint"], props.get("Roles", {}), deadline)
            if props.get("AccessPolicies"):
                _set_access_policy(props["DomainName"], _master_only(props["AccessPolicies"]))
        else:
            if props.get("AccessPolicies"):
                _set_access_policy(props["DomainName"], props["AccessPolicies"])
            _put_roles(props, deadline)
            if request_type == "Update":
                old = event.get("OldResourceProperties", {})
                if old.get("Endpoint") == props["Endpoint"]:
                    dropped = {name: spec for name, spec in old.get("Roles", {}).items() if name not in props["Roles"]}
                    _delete_roles(props["Endpoint"], dropped, deadline)
    except Exception as exc:  # every failure must reach CloudFormation as FAILED
        logger.exception("%s of the search roles failed", request_type)
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:900] + " (see the function's CloudWatch logs)"
    _respond(event, status, reason, physical_id or event["LogicalResourceId"])


def _opensearch() -> Any:
    import boto3  # in the Lambda runtime; imported here so the security-API path needs botocore only

    return boto3.client("opensearch")


def _set_access_policy(domain_name: str, policy: dict[str, Any]) -> None:
    _opensearch().update_domain_config(DomainName=domain_name, AccessPolicies=json.dumps(policy))
    logger.info("access policy of %s set (%d statements)", domain_name, len(policy.get("Statement", [])))


def _master_only(policy: dict[str, Any]) -> dict[str, Any]:
    """The statements of `policy` that reach the security API alone (the master role's), kept on Delete."""
    kept = [s for s in policy.get("Statement", [])
            if all(f"/{SECURITY_API}/" in r for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]))]
    return {**policy, "Statement": kept}


def _put_roles(props: dict[str, Any], deadline: float) -> None:
    endpoint, mappings = props["Endpoint"], props.get("Mappings", {})
    unknown = set(mappings) - set(props["Roles"])
    if unknown:
        raise ValueError(f"mappings for undefined roles: {sorted(unknown)}")
    for name, spec in props["Roles"].items():
        _call("PUT", endpoint, f"roles/{name}", spec, deadline)
    for name, backend_roles in mappings.items():
        _call("PUT", endpoint, f"rolesmapping/{name}",
              {"backend_roles": list(backend_roles), "hosts": [], "users": []}, deadline)


def _delete_roles(endpoint: str, roles: dict[str, Any], deadline: float) -> None:
    """Delete mappings then roles; what is already gone (404) or unreachable is logged, not fatal."""
    for path in [f"rolesmapping/{name}" for name in roles] + [f"roles/{name}" for name in roles]:
        try:
            _call("DELETE", endpoint, path, None, deadline, missing_ok=True)
        except Exception:
            logger.warning("could not delete %s; leaving it", path, exc_info=True)


def _call(method: str, endpoint: str, path: str, body: Any, deadline: float, *, missing_ok: bool = False) -> int:
    """One signed request to the security API, retried with backoff until ``deadline``."""
    url = f"https://{endpoint}/{SECURITY_API}/{urllib.parse.quote(path)}"
    data = json.dumps(body).encode() if body is not None else None
    delay = 2.0
    while True:
        try:
            with urllib.request.urlopen(_signed(method, url, data), timeout=REQUEST_TIMEOUT_SECONDS) as response:
                logger.info("%s %s -> %s", method, path, response.status)
                return response.status
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return 404
            problem = f"{method} {path} -> {exc.code}: {exc.read()[:500].decode(errors='replace')}"
            if exc.code not in RETRYABLE_STATUSES:
                raise SecurityApiError(problem) from exc
        except (urllib.error.URLError, OSError) as exc:  # DNS, connection, timeout
            problem = f"{method} {path}: {exc}"
        if time.monotonic() + delay > deadline:
            raise SecurityApiError(f"gave up: {problem}")
        logger.info("retrying in %.0f s: %s", delay, problem)
        time.sleep(delay)
        delay = min(delay * 2, 30.0)


def _signed(method: str, url: str, data: bytes | None) -> urllib.request.Request:
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Session().get_credentials(), "es", os.environ["AWS_REGION"]).add_auth(request)
    return urllib.request.Request(url, data=data, method=method, headers=dict(request.headers.items()))


def _respond(event: dict[str, Any], status: str, reason: str, physical_id: str) -> None:
    """PUT the outcome to CloudFormation's pre-signed URL (signed without a content type)."""
    body = json.dumps({
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
        logger.info("answered CloudFormation %s (%s)", status, response.status)
