"""One Powertools Logger, Tracer and Metrics for the whole API and every function.

Structured JSON logs carry tenant, user and correlation id (set by the middleware or a
function's entry point); one metric per business event (`metric()`).
"""
from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "crm")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CRM"), service=SERVICE)
_tracer: Any = None


def tracing_enabled() -> bool:
    """X-Ray tracing runs in Lambda unless POWERTOOLS_TRACE_DISABLED says otherwise."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true")
    return not disabled and "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def tracer() -> Any:
    """The Powertools Tracer, created on first use: its X-Ray SDK import costs ~0.2 s of
    cold start, which only traced invocations should pay."""
    global _tracer
    if _tracer is None:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service=SERVICE)
    return _tracer


def annotate(**values: str) -> None:
    """Searchable X-Ray annotations on the current trace (no-op when tracing is off)."""
    if tracing_enabled():
        t = tracer()
        for key, value in values.items():
            t.put_annotation(key=key, value=value)


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
