"""Domain events on the EventBridge bus: source `crm.<module>`, detail-type `<module>.<entity>.<verb>`.

`publish()` sends one event; inside `with batched():` (an import, a bulk job) events are held and
sent PutEvents' 10 entries a call as they add up and when the block ends, instead of one call each."""
from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..core.observability import logger
from ..core.settings import get_settings
from . import client

BATCH = 10  # entries EventBridge takes per PutEvents call

_held: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar("crm_events_held", default=None)
_how: contextvars.ContextVar[tuple[int, int]] = contextvars.ContextVar("crm_events_how", default=(BATCH, 1))  # (hold, workers)


def publish(module: str, detail_type: str, tenant_id: str, detail: dict[str, Any], *, strict: bool = False) -> None:
    """Publish one event. Events are notifications, not the source of truth: a failed
    publish is logged and counted, never undoes the committed change — unless `strict` (the
    event is what makes something happen, e.g. a queued job): then it raises (and is never held)."""
    entry = {
        "Source": f"crm.{module}",
        "DetailType": detail_type,
        "Detail": json.dumps({"tenant_id": tenant_id, **detail}, ensure_ascii=False, default=str),
        "EventBusName": get_settings().event_bus_name,
    }
    held = _held.get()
    if held is not None and not strict:
        held.append(entry)
        if len(held) >= _how.get()[0]:
            flush()
        return
    _send([entry], strict)


def flush() -> None:
    """Send what a `batched()` block holds so far (its end does this too)."""
    held = _held.get()
    if held:
        entries = held[:]
        held.clear()
        calls = [entries[i:i + BATCH] for i in range(0, len(entries), BATCH)]
        workers = _how.get()[1]
        if workers > 1 and len(calls) > 1:
            from ..db.batch import in_parallel

            in_parallel(_send, calls, workers)
        else:
            for c in calls:
                _send(c)


@contextmanager
def batched(hold: int = BATCH, workers: int = 1) -> Iterator[None]:
    """Hold the events published in this block and send them in calls of BATCH entries: when
    `hold` are held (and when the block ends), `workers` calls at a time."""
    token, how = _held.set([]), _how.set((max(hold, 1), max(workers, 1)))
    try:
        yield
    finally:
        try:
            flush()
        finally:
            _held.reset(token)
            _how.reset(how)


def _send(entries: list[dict[str, Any]], strict: bool = False) -> None:
    types = [e["DetailType"] for e in entries]
    try:
        result = client("events").put_events(Entries=entries)
        if result.get("FailedEntryCount"):
            logger.error("event not published", extra={"detail_types": types, "result": result.get("Entries")})
            if strict:
                raise RuntimeError(f"event {types[0]} not published")
    except Exception:  # noqa: BLE001 - see publish()
        logger.exception("event publish failed", extra={"detail_types": types})
        if strict:
            raise
