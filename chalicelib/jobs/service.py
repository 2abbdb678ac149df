"""Background jobs (后台任务): long work run in chunks, outside the request, with progress.

A module registers a runner per job kind in the manifest (`Module.jobs`); `create()` writes the
job item and queues it: an event `jobs.job.queued` on the bus, which AWS delivers to
functions/jobs.py (the local stack's bus driver calls the same handler). One invocation:

1. claims the job: a versioned write that sets `lease_until` to the end of this invocation's
   time (JOB_TIMEOUT_SECONDS). Another delivery of the same message finds it held and leaves it;
   a crashed invocation's lease has lapsed by the time the event is delivered again.
2. runs the runner as the user who created the job (their data scope, field rules, language).
   The runner saves progress and its checkpoint at chunk boundaries (`JobContext.save`) and
   returns True when done, or False when it stops early (its time is up): the job is queued
   again and the next invocation resumes from the checkpoint.
3. an exception is an attempt that failed: the job is queued again and resumes from the last
   checkpoint (a runner must make a chunk's writes safe to repeat). An invocation that died
   (timeout, out of memory) is counted as failed by the next claim, which finds the job still
   "running" with a lapsed lease. After MAX_ATTEMPTS failed invocations the job is "failed"
   (continuations of a long job are not failures); a refusal of ours (bad input, no right, gone)
   fails it at once, as another attempt would meet it again. A job whose last invocation died and that no
   delivery comes back for (the queue gave the message up) reads as failed once STALLED has
   passed, and can be cancelled at once.

Cancelling sets `cancel_requested`: a queued job ends at once, a running one at its next save.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from ..core import clock, context
from ..core.errors import Conflict, NotFound
from ..core.ids import new_id
from ..core.observability import logger
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import query
from ..org import service as org
from ..ports import events
from .models import Job

MODULE = "jobs"
MAX_ATTEMPTS = 5
QUEUED = "jobs.job.queued"
TERMINAL = ("succeeded", "failed", "cancelled")
MARGIN_SECONDS = 60  # a runner stops this long before its invocation's end, to save and queue again
STALLED = timedelta(hours=2)  # after the queue's visibility timeout (6 x the Lambda's): no invocation is coming

Runner = Callable[["JobContext"], bool]
RUNNERS: dict[str, Runner] = {}


class Cancelled(Exception):
    """The job was cancelled while it ran: the runner stops (let it propagate)."""


def install(runners: Mapping[str, Runner]) -> None:
    """The runners of every module of the manifest (kind -> runner)."""
    RUNNERS.update(runners)


def kinds() -> list[str]:
    return sorted(RUNNERS)


# ---- what the API shows ---------------------------------------------------------------------
def shown(job: Job) -> dict[str, Any]:
    label = list(job.label or [])
    return {"id": job.id, "kind": job.kind, "label": (label[-1] if context.locale() == "en" else label[0]) if label else job.kind,
            "status": job.status,
            "progress": {"total": None if job.total is None else int(job.total), "done": int(job.done or 0),
                         "errors": int(job.errors or 0)},
            "result": job.result, "error": error_message(job), "cancel_requested": bool(job.cancel_requested),
            "attempts": int(job.attempts or 0), "failures": int(job.failures or 0), "created_by": job.created_by, "created_at": job.created_at,
            "updated_at": job.updated_at, "finished_at": job.finished_at}


def as_dict(job: Job) -> dict[str, Any]:
    """The job for its module's own routes: what the API shows plus its params (the module decides
    what of them to show)."""
    return {**shown(job), "params": dict(job.params or {}), "tenant_id": job.tenant_id}


# ---- create, read, cancel -------------------------------------------------------------------
def create(p: Principal, kind: str, params: Mapping[str, Any], *, total: int | None = None,
           label: tuple[str, str] = ("", ""), queue: bool = True) -> dict[str, Any]:
    """A new job of `kind` for the caller, queued (`queue=False`: written only — the module queues
    it later with `start()`, e.g. once a file is uploaded)."""
    if kind not in RUNNERS:
        raise ValueError(f"no runner for job kind {kind!r}")
    now = clock.now_iso()
    job_id = new_id()
    pk, sk = Job.key(p.tenant_id, job_id)
    job = Job(pk=pk, sk=sk, tenant_id=p.tenant_id, id=job_id, kind=kind, label=list(label), locale=context.locale(),
              status="queued", params=dict(params), checkpoint={}, total=total, done=0, errors=0,
              created_at=now, created_by=p.user_id, updated_at=now, updated_by=p.user_id,
              gsi1pk=Job.mine(p.tenant_id, p.user_id), gsi1sk=f"{now}#{job_id}",
              gsi2pk=Job.everyone(p.tenant_id), gsi2sk=f"{now}#{job_id}")
    job.save(condition=Job.pk.does_not_exist())
    if queue:
        _queue(job)
    return as_dict(job)


def start(tenant_id: str, job_id: str, params: Mapping[str, Any] | None = None, *, total: int | None = None) -> dict[str, Any]:
    """Queue a job written with `queue=False` (its params merged with `params`); 409 when it is
    already queued, running or over."""
    job = _load(tenant_id, job_id)
    if job.status != "queued" or job.attempts or job.lease_until:
        raise Conflict("JOB_ALREADY_STARTED")
    actions = [Job.updated_at.set(clock.now_iso())]
    if params:
        actions.append(Job.params.set({**(job.params or {}), **params}))
    if total is not None:
        actions.append(Job.total.set(total))
    job.update(actions=actions)
    _queue(job)
    return as_dict(job)


def _queue(job: Job) -> None:
    events.publish(MODULE, QUEUED, job.tenant_id, {"job_id": job.id, "kind": job.kind}, strict=True)


def _load(tenant_id: str, job_id: str, consistent: bool = True) -> Job:
    pk, sk = Job.key(tenant_id, job_id)
    try:
        return Job.get(pk, sk, consistent_read=consistent)
    except DoesNotExist:
        raise NotFound("entity.job") from None


def readable(p: Principal, job_id: str, kind: str | None = None) -> Job:
    """A job the caller may see: their own, or any of the tenant's for whoever may read jobs
    (administrators); 404 otherwise (as for a job that does not exist) or of another kind."""
    job = _load(p.tenant_id, job_id, consistent=False)
    if (job.created_by != p.user_id and not p.can(MODULE, "read")) or (kind is not None and job.kind != kind):
        raise NotFound("entity.job")
    if _stalled(job):
        _end(job, "failed", error="JOB_STALLED")
    return job


def _stalled(job: Job) -> bool:
    """Running, but its last invocation died long enough ago that no delivery will come back."""
    return job.status == "running" and bool(job.lease_until) and \
        job.lease_until < clock.iso(clock.now() - STALLED)


def get(p: Principal, job_id: str) -> dict[str, Any]:
    return shown(readable(p, job_id))


def mine(limit: int, cursor: str | None, everyone: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    p = org.principal()
    if everyone:
        p.require(MODULE, "read")
        partition, index = Job.everyone(p.tenant_id), "gsi2"
    else:
        partition, index = Job.mine(p.tenant_id, p.user_id), "gsi1"
    items, nxt = query.page(Job, partition, index=index, limit=limit, cursor=cursor)
    return [shown(j) for j in items if isinstance(j, Job)], nxt


def cancel(p: Principal, job_id: str, kind: str | None = None) -> dict[str, Any]:
    """Ask a job to stop: a queued one is cancelled at once, a running one at its next save.
    Only its creator or an administrator (jobs: manage); a finished job answers 409."""
    for _ in range(5):
        job = readable(p, job_id, kind)
        if job.created_by != p.user_id:
            p.require(MODULE, "manage")
        if job.status in TERMINAL:
            raise Conflict("JOB_FINISHED", status=f"job.status.{job.status}")
        now = clock.now_iso()
        actions = [Job.cancel_requested.set(True), Job.updated_at.set(now), Job.updated_by.set(p.user_id)]
        if job.status in ("queued", "running") and not _held(job):  # nothing runs it now: over at once
            actions += [Job.status.set("cancelled"), Job.finished_at.set(now), Job.lease_until.remove()]
        try:
            job.update(actions=actions)
        except UpdateError as e:
            if _conditional(e):
                continue  # it moved meanwhile: look again
            raise
        return shown(job)
    raise Conflict()


# ---- running --------------------------------------------------------------------------------
@dataclass
class JobContext:
    """What a runner works with (see the module docstring)."""

    job_item: Job
    principal: Principal
    deadline: float  # time.monotonic() by which the runner should have stopped
    checkpoint: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None

    @property
    def job(self) -> dict[str, Any]:
        return {**as_dict(self.job_item), "checkpoint": dict(self.checkpoint), "created_by": self.job_item.created_by}

    def time_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def save(self, *, checkpoint: Mapping[str, Any] | None = None, done: int | None = None, errors: int | None = None,
             total: int | None = None) -> None:
        """Progress and checkpoint, in one versioned write that also extends the lease. Raises
        Cancelled when the job was asked to stop (the write is then not made)."""
        job = self.job_item
        if _refresh(job).cancel_requested:
            raise Cancelled()
        actions = [Job.updated_at.set(clock.now_iso()), Job.lease_until.set(_lease_end())]
        if checkpoint is not None:
            actions.append(Job.checkpoint.set(dict(checkpoint)))
            self.checkpoint = dict(checkpoint)
        for attr, value in ((Job.done, done), (Job.errors, errors), (Job.total, total)):
            if value is not None:
                actions.append(attr.set(value))
        try:
            job.update(actions=actions)
        except UpdateError as e:
            if _conditional(e) and _refresh(job).cancel_requested:
                raise Cancelled() from None
            raise

    def finish(self, result: Mapping[str, Any] | None = None) -> None:
        self.result = dict(result or {})


def _refresh(job: Job) -> Job:
    job.refresh(consistent_read=True)
    return job


def _lease_end() -> str:
    return clock.iso(clock.now() + timedelta(seconds=get_settings().job_timeout_seconds))


def _held(job: Job) -> bool:
    return bool(job.lease_until) and job.lease_until > clock.now_iso()


def _conditional(e: Exception) -> bool:
    return getattr(e, "cause_response_code", None) == "ConditionalCheckFailedException"


def _claim(tenant_id: str, job_id: str) -> Job | None:
    """Hold the job for this invocation (versioned), or None: over, or held by another one."""
    try:
        job = _load(tenant_id, job_id)
    except NotFound:
        logger.warning("job not found", extra={"job_id": job_id})
        return None
    if job.status in TERMINAL or _held(job):
        return None
    now = clock.now_iso()
    if job.cancel_requested:
        job.update(actions=[Job.status.set("cancelled"), Job.finished_at.set(now), Job.updated_at.set(now)])
        return None
    died = job.status == "running" and bool(job.lease_until)  # the last invocation neither finished nor gave it back
    if died and int(job.failures or 0) + 1 >= MAX_ATTEMPTS:
        _end(job, "failed", failures=int(job.failures or 0) + 1, error="JOB_DIED")
        return None
    actions = [Job.status.set("running"), Job.lease_until.set(_lease_end()), Job.attempts.add(1), Job.updated_at.set(now)]
    if died:
        actions += [Job.failures.add(1), Job.error.set("JOB_DIED")]
    try:
        job.update(actions=actions)
    except UpdateError as e:
        if _conditional(e):
            return None  # another invocation claimed it first
        raise
    return job


def _end(job: Job, status: str, **values: Any) -> None:
    now = clock.now_iso()
    actions = [Job.status.set(status), Job.lease_until.remove(), Job.finished_at.set(now), Job.updated_at.set(now)]
    actions += [getattr(Job, k).set(v) if v is not None else getattr(Job, k).remove() for k, v in values.items()]
    _write_through_cancel(job, actions)


def _release(job: Job, error: str | None = None, params: dict[str, Any] | None = None, failures: int | None = None) -> None:
    """Give the lease back and queue the job again (it resumes from its checkpoint)."""
    actions = [Job.lease_until.remove(), Job.updated_at.set(clock.now_iso())]
    if error is not None:
        actions += [Job.error.set(error), Job.error_params.set(params) if params else Job.error_params.remove()]
    if failures is not None:
        actions.append(Job.failures.set(failures))
    _write_through_cancel(job, actions)
    _queue(job)


def _write_through_cancel(job: Job, actions: list[Any]) -> None:
    """A write at the end of an invocation: a cancel request that came meanwhile (the only other
    writer of a held job) does not make it fail."""
    for _ in range(3):
        try:
            job.update(actions=actions)
            return
        except UpdateError as e:
            if not _conditional(e):
                raise
            _refresh(job)
    job.update(actions=actions)


def run(tenant_id: str, job_id: str) -> str | None:
    """One invocation of a job (the queue's handler): the status it left the job in, or None when
    there was nothing to do (over, or held by another invocation)."""
    job = _claim(tenant_id, job_id)
    if job is None:
        return None
    runner = RUNNERS.get(job.kind)
    ctx_ = context.RequestContext(tenant_id=tenant_id, user_id=job.created_by, locale=job.locale or "zh-CN")
    budget = get_settings().job_timeout_seconds - MARGIN_SECONDS
    with context.acting_as(ctx_):
        try:
            if runner is None:
                raise LookupError(f"no runner for job kind {job.kind!r}")
            jc = JobContext(job, org.principal(), time.monotonic() + max(1, budget), dict(job.checkpoint or {}))
            finished = runner(jc)
        except Cancelled:
            _end(job, "cancelled")
            return "cancelled"
        except Exception as e:  # noqa: BLE001 - an attempt failed: resume from the checkpoint, or give up
            logger.exception("job attempt failed", extra={"job_id": job_id, "kind": job.kind, "attempt": int(job.attempts)})
            message, params = _error_of(e)
            failures = int(job.failures or 0) + 1
            if failures >= MAX_ATTEMPTS or runner is None or _final(e):
                _end(job, "failed", error=message, error_params=params, failures=failures)
                return "failed"
            _release(job, message, params, failures)
            return "queued"
    if not finished:
        _release(job)
        return "queued"
    _end(job, "succeeded", result=jc.result or {})
    return "succeeded"


def _final(e: Exception) -> bool:
    """An error that another attempt would meet again: the input or the rights are wrong, not the moment."""
    from ..core.errors import Forbidden, NotFound, ValidationFailed

    return isinstance(e, (ValidationFailed, Forbidden, NotFound))


def _error_of(e: Exception) -> tuple[str, dict[str, Any] | None]:
    """What a failed attempt tells the job's readers: a domain error as its code and parameters (shown in
    the reader's language), anything else as JOB_ERROR — its text (a library's, naming tables, keys,
    limits) goes to the log only."""
    from ..core.errors import DomainError

    if isinstance(e, DomainError):
        params = {k: v for k, v in e.params.items() if isinstance(v, (str, int, float, bool)) or v is None}
        return e.code, params or None
    return ERROR, None


ERROR = "JOB_ERROR"  # an attempt failed on something not of ours: the log has its text


def error_message(job: Job) -> str | None:
    """The job's error in the reader's language: one of ours (a code), else JOB_ERROR's text (an
    error recorded as raw text by an earlier version is never shown)."""
    from ..core import i18n
    from ..core.errors import DomainError

    if not job.error:
        return None
    code = job.error if job.error in i18n.MESSAGES else ERROR
    try:
        return DomainError(code, **dict(job.error_params or {})).message(context.locale())
    except (KeyError, IndexError, ValueError):  # parameters of another version of the message
        return DomainError(ERROR).message(context.locale())


def handle_event(event: Mapping[str, Any]) -> str | None:
    """The bus event of a queued job -> one invocation."""
    detail = event.get("detail") or {}
    return run(detail["tenant_id"], detail["job_id"])


# ---- local stack and tests ------------------------------------------------------------------
def run_queued(rounds: int = 10_000) -> int:
    """Run every queued invocation in this process until none is left (what the local stack's bus
    driver does for functions/jobs.py); the invocations run. Local stack and tests only."""
    from devstack.drivers import BusDriver  # not packaged for AWS, where the queue invokes the Lambda

    driver = BusDriver(only=("jobs",))
    total = 0
    for _ in range(rounds):
        n = driver.run_once()
        total += n
        if not n:
            break
    return total


__all__ = ["Cancelled", "JobContext", "cancel", "create", "get", "handle_event", "install", "mine", "run", "run_queued",
           "shown", "start"]
