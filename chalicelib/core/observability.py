"""One Powertools Logger, Tracer and Metrics for the whole API and every function.

Structured JSON logs carry tenant, user and correlation id (set by the middleware or a
function's entry point); one metric per business event (`metric()`).
"""
from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "crm")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CRM"), service=SERVICE)


def bind(tenant_id: str | None = None, user_id: str | None = None, correlation_id: str | None = None) -> None:
    """Attach who/which tenant to every following log line of this invocation."""
    if correlation_id:
        logger.set_correlation_id(correlation_id)
    logger.append_keys(tenant_id=tenant_id or None, user_id=user_id or None)


def metric(name: str, value: float = 1, unit: str = MetricUnit.Count) -> None:
    """Count one business event (customer.created, reminder.delivered …)."""
    metrics.add_metric(name=name, unit=unit, value=value)


def flush() -> None:
    if metrics.metric_set:
        metrics.flush_metrics()
