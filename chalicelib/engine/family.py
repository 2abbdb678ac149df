"""Families (gsi5, db/table_spec.py): a record's 360 in one Query, whatever the number of contracts.

What a family is. Every record with a parent carries gsi5 keys: gsi5pk = the record partition
of the ROOT of its family, gsi5sk = `<PARENT ENTITY>#<parent id>#<ENTITY>#<created>#<id>`. The
root is the record whose 360 (`engine.service.related`) lists it: its parent, or its grandparent
when the parent's type rolls up (EntityDef.rolls_up) — a contact, a follow-up, an opportunity and
a contract sit in their customer's family, and so do the contract's payment plans, payments and
invoices. Families are two levels deep, as the 360 is: a deeper chain (a sub-task's sub-task, a
custom object under a custom object under a customer) starts a family at each record whose type
does not roll up, exactly where `related` stops showing records. `store.children_partition`
says which family a record gives its children; `store.set_live_keys` sets the keys.

So `related(X)` reads X (GetItem: permissions are decided on it) and then one Query: X's family
when a type of its children rolls up (a customer: its contracts' records are in it too), else X's
collection (gsi3), which holds all it shows. Records are sorted back into the lists the per-parent
Queries gave (`members`), in the same order.

Keeping the keys right:
- create: the parent the reference check read gives the family (WriteContext.loaded);
- a change of parent: the record reads its new family (one GetItem, or the record the reference
  check read); when its type rolls up, its own children move family too — in its transaction
  when there are few (`follow_ops`), else in a background job (`RESTAMP_KIND`: until it has run,
  the new parent's 360 shows the moved record without what is under it; the record's own 360, read
  from its collection, is complete at once);
- merge: the moved children get the survivor's family, and their children follow (`follow`);
- recycle bin: a deleted record keeps its place, like gsi3; reads skip deleted records;
- backups: the tenant part of every key is rewritten, gsi5 too (backups/walk.rewrite);
- records written without the keys — before the index existed, or by the previous release while
  a deployment shifts (a canary) or after a rollback: the old code creates records without gsi5
  and an update of it writes the whole item without them: `backfill` (resumable, per tenant) fills
  their keys. Until a tenant's has finished (the FAMILY state item says "done", cached per process
  for CRM_AUTHZ_CACHE_SECONDS), `related` reads as before (gsi3 per parent), so nothing is ever
  missing from a 360. It is an explicit step, run once a deployment has fully shifted:
  `python -m chalicelib.engine.family [--again] [tenant …]` (--again: after a rollback and the
  redeploy, or a release that changes which record types roll up — every tenant is walked again,
  its 360s read per parent meanwhile). A 360 read never queues it in a deployed stage (the old code
  may still be writing); the local stack runs it for every tenant on start. A tenant created by
  this code starts "done" (nothing to fill) but `fresh`: the next run walks it once while its 360s
  keep the one-Query path, which covers a tenant created during a canary window.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..core import clock
from ..core.observability import logger
from ..core.settings import get_settings
from ..db import keys, tx
from ..db.base import Item
from . import registry, store

RESTAMP_KIND = "engine_family_restamp"
BACKFILL_KIND = "engine_family_backfill"
INLINE = 25  # children moved family in their parent's own transaction; more go to a job
CHUNK = 25  # key updates per transaction
WALK_PAGE = 100  # item keys per page of the back-fill's walk (then one BatchGetItem of the records among them)
NOT_READY_SECONDS = 60  # how long a "not back-filled yet" answer is believed before it is read again


class FamilyState(Item, discriminator="FAMILY_STATE"):
    """The tenant's back-fill of family keys: pk = T#<t>#FAMILY, sk = "STATE"; `state` running | done,
    `checkpoint` where the walk resumes, `generation` the walk it belongs to (`again()` starts
    another: a walk of an older generation no longer writes its checkpoint), `fresh` set on a
    tenant done at creation and not walked yet."""

    state = UnicodeAttribute()
    checkpoint = JSONAttribute(null=True)
    done = NumberAttribute(default=0)
    job_id = UnicodeAttribute(null=True)
    generation = NumberAttribute(null=True)
    fresh = NumberAttribute(null=True)
    updated_at = UnicodeAttribute()

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "FAMILY"), "STATE"


class _Keys(Item, discriminator="FAMILY_KEYS"):
    """A record's family keys alone: updated without touching its version or its values."""


STALE_START_SECONDS = 300  # a "running" state without a job this old was left by a reader that died before queueing it

_ready: dict[str, tuple[bool, float]] = {}  # tenant -> (ready, epoch seconds until which the answer holds)
_asked: dict[str, float] = {}  # tenant -> epoch seconds until which this process believes its back-fill is queued


def _remember(tenant_id: str, done: bool) -> None:
    """A "ready" answer holds for CRM_AUTHZ_CACHE_SECONDS (so `again()` is heard by every container
    within that time, as a change of roles is); "not yet" for NOT_READY_SECONDS (the slow path is
    always right)."""
    ttl = get_settings().authz_cache_seconds if done else NOT_READY_SECONDS
    _ready[tenant_id] = (done, clock.now().timestamp() + ttl)


def ready(tenant_id: str) -> bool:
    """Whether every record of the tenant carries its family keys (cached, see `_remember`)."""
    hit = _ready.get(tenant_id)
    if hit is not None and hit[1] > clock.now().timestamp():
        return hit[0]
    try:
        done = FamilyState.get(*FamilyState.key(tenant_id)).state == "done"
    except DoesNotExist:
        done = False
    _remember(tenant_id, done)
    return done


def forget(tenant_id: str | None = None) -> None:
    if tenant_id is None:
        _ready.clear()
        _asked.clear()
    else:
        _ready.pop(tenant_id, None)
        _asked.pop(tenant_id, None)


def ready_op(tenant_id: str) -> tx.Op:
    """A new tenant has nothing to back-fill: its state is "done" from the start, once the
    transaction that creates the tenant commits (nothing is cached before). `fresh`: the next
    back-fill run walks it once all the same — created during a canary, the previous release may
    have written records of it without their keys."""
    pk, sk = FamilyState.key(tenant_id)
    return tx.put(FamilyState(pk=pk, sk=sk, tenant_id=tenant_id, state="done", fresh=1, generation=0, updated_at=clock.now_iso()))


# ---- reading a family -------------------------------------------------------------------------
def members(rec: store.EntityRecord) -> dict[str, list[store.EntityRecord]]:
    """The records of the 360 of `rec` (a record with children whose type rolls up) by parent
    partition (gsi3pk), each in its collection's order: one Query of its family — its children and
    their children. A record whose own children sit in its parent's family (its type rolls up too)
    reads them from its collection (gsi3): one more Query."""
    out: dict[str, list[store.EntityRecord]] = {}
    for item in Item.gsi5.query(rec.pk):
        if isinstance(item, store.EntityRecord) and item.gsi3pk:
            out.setdefault(item.gsi3pk, []).append(item)
    if store.children_partition(rec) != rec.pk:
        out[rec.pk] = store.collection(rec.tenant_id, rec.entity, rec.id)
    return out


# ---- a child joining a family ------------------------------------------------------------------
def parent_checks(tenant_id: str, parent: tuple[str, str], loaded: dict[tuple[str, str], Any], ops: list[tx.Op],
                  on_conflict: Any) -> list[tx.Op]:
    """A record created under (or moved to) `parent` takes its family from the parent as read
    (`store.family_of`, which keeps it in `loaded`). When the parent's type rolls up, that family is
    the parent's own parent's — a move of the parent (a contract to another customer) changes it:
    the write checks the parent is still under the parent it was read under (gsi3pk, which every
    move changes); `on_conflict` when it moved (a create reads it again, `reread`, and tries
    again). None when the write already writes the parent (its version condition holds it)."""
    rec = loaded.get(parent)
    if not isinstance(rec, store.EntityRecord):
        return []
    d = registry.find(rec.entity, tenant_id)
    if d is None or not d.rolls_up:
        return []
    for op in ops:
        target = op.model[1:] if op.kind == "check" else (getattr(op.model, "pk", None), getattr(op.model, "sk", None))
        if tuple(target) == (rec.pk, rec.sk):
            return []
    condition = Item.gsi3pk == rec.gsi3pk if rec.gsi3pk else Item.gsi3pk.does_not_exist()
    return [tx.check(Item, rec.pk, rec.sk, condition, on_conflict=on_conflict)]


def reread(loaded: dict[tuple[str, str], Any]) -> None:
    """The records a write read (its parent among them) read again, consistently, before it is tried again."""
    stale = [k for k, v in loaded.items() if isinstance(v, store.EntityRecord)]
    for key in stale:
        rec = loaded[key]
        try:
            loaded[key] = store.EntityRecord.get(rec.pk, rec.sk, consistent_read=True)
        except DoesNotExist:
            pass


# ---- a record whose children change family ------------------------------------------------------
def same_family(rec: store.EntityRecord) -> Any:
    """The condition that a record's family is still the one it was read with: a key-only move
    (which leaves the version alone) made meanwhile is never written over."""
    return Item.gsi5pk == rec.gsi5pk if rec.gsi5pk else Item.gsi5pk.does_not_exist()


def _key_update(child: store.EntityRecord, parent_pk: str, family: str) -> tx.Op:
    item = _Keys(pk=child.pk, sk=child.sk)
    return tx.update(item, [Item.gsi5pk.set(family), Item.gsi5sk.set(child.gsi5sk or _sk(child))],
                     condition=(Item.gsi3pk == parent_pk) & same_family(child))


def _set_keys(pk: str, sk: str, family: str, order: str, condition: Any) -> bool:
    """One record's family keys (an UpdateItem of the keys alone: no version, no log entry); False
    when `condition` no longer holds (a write of the record since set them itself)."""
    from ..db.base import walk_keys

    actions = [Item.gsi5pk.set(family), Item.gsi5sk.set(order)]
    walk = walk_keys(pk)
    if walk is not None:
        actions += [Item.gsi4pk.set(walk[0]), Item.gsi4sk.set(walk[1])]
    try:
        Item._get_connection().update_item(pk, range_key=sk, actions=actions, condition=condition)
    except UpdateError as e:
        if getattr(e, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _sk(child: store.EntityRecord) -> str:
    parent = child.gsi3pk.split("#", 2)[2] if child.gsi3pk else ""
    return f"{parent}#{child.entity}#{child.created_at}#{child.id}"


def _stale(rec: store.EntityRecord, children: Iterable[store.EntityRecord]) -> list[store.EntityRecord]:
    family = store.children_partition(rec)
    return [c for c in children if c.gsi5pk != family]


def follow_ops(rec: store.EntityRecord, before: str) -> tuple[list[tx.Op], bool]:
    """After `rec` (its keys already set) changed the family it gives its children (`before`): the
    key updates of its children for its own transaction when they are few, or ([], True) when a
    job must move them (`queue`)."""
    if store.children_partition(rec) == before:
        return [], False
    children = _stale(rec, store.collection(rec.tenant_id, rec.entity, rec.id))
    if len(children) > INLINE:
        return [], True
    family = store.children_partition(rec)
    return [_key_update(c, rec.pk, family) for c in children], False


def queue(p: Any, rec: store.EntityRecord, after: int | None = None) -> str:
    """The job that moves a record's children to the family it now gives them; its id. Queued
    before the write that moves the record (`after`: the version that write gives it), so a crash
    between the two never leaves the children behind: until the record has that version, the job
    tries again (a write that was refused leaves a job with nothing to do)."""
    from ..jobs import service as jobs

    params: dict[str, Any] = {"entity": rec.entity, "id": rec.id}
    if after is not None:
        params["after"] = after
    job = jobs.create(p, RESTAMP_KIND, params, label=("客户360索引更新", "Updating the 360 index"))
    return str(job["id"])


def follow(p: Any, rec: store.EntityRecord) -> None:
    """A record moved under another parent outside an update (a merge): its children follow, in
    transactions of CHUNK when they are few, else in a job."""
    children = _stale(rec, store.collection(rec.tenant_id, rec.entity, rec.id))
    if len(children) > INLINE:
        queue(p, rec)
        return
    _write_keys(rec, children)


WAIT_FOR_MOVE_SECONDS = 60  # a restamp queued before its record's move waits this long for the move to commit


def _write_keys(rec: store.EntityRecord, children: list[store.EntityRecord]) -> int:
    """Key updates of children still under `rec`, CHUNK per transaction (a child that moved away
    meanwhile is left as its own write made it). The number written."""
    from ..core.errors import Conflict

    family = store.children_partition(rec)
    written = 0
    for start in range(0, len(children), CHUNK):
        chunk = children[start:start + CHUNK]
        if len(chunk) > 1:
            try:
                tx.write([_key_update(c, rec.pk, family) for c in chunk])
                written += len(chunk)
                continue
            except Conflict:  # one moved away meanwhile: each on its own
                pass
        for c in chunk:
            written += _set_keys(c.pk, c.sk, family, c.gsi5sk or _sk(c), (Item.gsi3pk == rec.pk) & same_family(c))
    return written


class MoveNotCommitted(RuntimeError):
    """A restamp ran before the write that moves its record committed: its job tries again."""


def run_restamp(jc: Any) -> bool:
    """Job runner: the children of one record, a chunk at a time (checkpoint: the last one done).
    The record is read again (consistently) for every chunk and its current family stamped — two
    jobs of a record moved twice may finish in either order, the later family wins."""
    from ..core.errors import NotFound
    from ..db import query

    params = jc.job["params"]
    d = registry.find(str(params["entity"]), jc.principal.tenant_id)

    def current() -> store.EntityRecord | None:
        try:
            return store.get(jc.principal.tenant_id, d.entity, str(params["id"]), d.name_key, include_deleted=True,
                             consistent=True)
        except NotFound:
            return None

    rec = current() if d is not None else None
    if rec is None:
        jc.finish({"moved": 0})
        return True
    if params.get("after") is not None and int(rec.version) < int(params["after"]):
        if (clock.now() - clock.parse_iso(jc.job_item.created_at)).total_seconds() < WAIT_FOR_MOVE_SECONDS:
            raise MoveNotCommitted(f"{rec.entity}#{rec.id} is at version {rec.version}, not yet {params['after']}")
        jc.finish({"moved": 0})  # the move was refused: nothing to follow
        return True
    cursor, moved = jc.checkpoint.get("cursor"), int(jc.checkpoint.get("moved") or 0)
    while True:
        items, cursor = query.page(store.EntityRecord, rec.pk, index="gsi3", limit=CHUNK, cursor=cursor, newest_first=False)
        rec = current() or rec
        moved += _write_keys(rec, _stale(rec, [i for i in items if isinstance(i, store.EntityRecord)]))
        if not cursor:
            jc.finish({"moved": moved})
            return True
        jc.save(checkpoint={"cursor": cursor, "moved": moved}, done=moved)
        if jc.time_left() <= 0:
            return False


# ---- records written without their keys: the back-fill -------------------------------------------
def _generation(state: FamilyState) -> Any:
    """The condition that the state item still belongs to the walk that read it (`again()` starts another)."""
    gen = int(state.generation or 0)
    return FamilyState.generation == gen if gen else (FamilyState.generation.does_not_exist() | (FamilyState.generation == 0))


def _state(tenant_id: str) -> FamilyState:
    pk, sk = FamilyState.key(tenant_id)
    try:
        return FamilyState.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        state = FamilyState(pk=pk, sk=sk, tenant_id=tenant_id, state="running", checkpoint={}, done=0, generation=0,
                            updated_at=clock.now_iso())
        try:
            state.save(condition=FamilyState.pk.does_not_exist())
        except PutError:
            return FamilyState.get(pk, sk, consistent_read=True)
        return state


def backfill(tenant_id: str, time_left: Any = None) -> bool:
    """Give every record of the tenant with a parent its family keys, walking the tenant (gsi4)
    page by page from the checkpoint the state item keeps; True once done (then `related` takes
    the one-Query path). `time_left()`: seconds left, the walk stops at a page boundary at 0.

    Safe while the API writes: a key update is conditioned on the record's version, parent and
    family as read, and any write of a record sets its family keys itself. Safe beside `again()`:
    the walk writes its checkpoint only while the state is of the generation it read; when
    another has started, it goes on from that one's checkpoint."""
    while True:
        state = _state(tenant_id)
        if state.state == "done" and not state.fresh:
            _remember(tenant_id, True)
            return True
        finished = _walk(tenant_id, state, time_left)
        if finished is not None:
            return finished


def _walk(tenant_id: str, state: FamilyState, time_left: Any) -> bool | None:
    """One generation's walk from its checkpoint: True done, False out of time, None when the state
    item moved to another generation meanwhile (`again()`)."""
    from ..backups import walk

    position = dict(state.checkpoint or {}) or None
    done = int(state.done or 0)
    while True:
        shard = int((position or {}).get("shard", 0))
        if shard >= walk.WALK_SHARDS:
            break
        found, after = walk.key_page(tenant_id, shard, (position or {}).get("after"), limit=WALK_PAGE)
        records = _records(tenant_id, [(k["pk"]["S"], k["sk"]["S"]) for k in found if k["sk"]["S"] == keys.RECORD_SK])
        done += _fill(tenant_id, records)
        position = {"shard": shard, "after": after} if after else {"shard": shard + 1, "after": None}
        if not _save(state, [FamilyState.checkpoint.set(position), FamilyState.done.set(done),
                             FamilyState.updated_at.set(clock.now_iso())]):
            return None
        if time_left is not None and time_left() <= 0 and position["shard"] < walk.WALK_SHARDS:
            return False
    if not _save(state, [FamilyState.state.set("done"), FamilyState.fresh.remove(), FamilyState.updated_at.set(clock.now_iso())]):
        return None
    _remember(tenant_id, True)
    logger.info("family keys back-filled", extra={"tenant_id": tenant_id, "records": done})
    return True


def _save(state: FamilyState, actions: list[Any]) -> bool:
    try:
        state.update(actions=actions, condition=_generation(state))
    except UpdateError as e:
        if getattr(e, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _records(tenant_id: str, item_keys: list[tuple[str, str]]) -> list[store.EntityRecord]:
    if not item_keys:
        return []
    return [r for r in Item.batch_get(item_keys, consistent_read=True)  # the base class: other items share sk "#"
            if isinstance(r, store.EntityRecord) and r.tenant_id == tenant_id]


def _fill(tenant_id: str, records: list[store.EntityRecord]) -> int:
    """The family keys of one page of records. Their parents are read after them (one BatchGetItem,
    kept for this page only, as the family they give: the walk's memory does not grow with the
    tenant), and each key update is conditioned on the record as read — version, parent and family:
    a parent's move made after these reads restamps its children, and that is never written over."""
    wanted: list[tuple[store.EntityRecord, tuple[str, str]]] = []
    for r in records:
        d = registry.find(r.entity, tenant_id)
        parent = d.parent_of(r.data or {}) if d is not None else None
        if parent and r.gsi3pk == store.parent_partition(tenant_id, *parent):
            wanted.append((r, parent))
    families = {(found.entity, found.id): store.children_partition(found)
                for found in _records(tenant_id, [store.record_key(tenant_id, *p) for p in dict.fromkeys(p for _, p in wanted)])}
    written = 0
    for r, parent in wanted:
        family = families.get(parent) or store.parent_partition(tenant_id, *parent)
        order = f"{parent[0]}#{parent[1]}#{r.entity}#{r.created_at}#{r.id}"
        if (r.gsi5pk, r.gsi5sk) == (family, order):
            continue
        # changed meanwhile (another version, or moved family): that write set the record's family keys itself
        written += _set_keys(r.pk, r.sk, family, order,
                             (Item.gsi3pk == r.gsi3pk) & (store.EntityRecord.version == r.version) & same_family(r))
    return written


def backfill_all(time_left: Any = None) -> dict[str, bool]:
    """Every tenant's back-fill (the local stack on start; an operator after a deployment)."""
    return {t: backfill(t, time_left) for t in tenant_ids()}


def run_backfill(jc: Any) -> bool:
    """Job runner: the caller's tenant's back-fill, resumed from its checkpoint until done."""
    return backfill(jc.principal.tenant_id, jc.time_left)


def queues_on_read() -> bool:
    """Whether a 360 read may queue its tenant's back-fill: only where no other release writes the
    table (the local stack, the tests). In a deployed stage the previous release may still write
    records without their keys (a canary, a rollback): the back-fill is run after the deployment
    has fully shifted (`main`), never marked done under the old code's feet."""
    return get_settings().stage in ("local", "test")


def start_backfill(p: Any) -> None:
    """A tenant whose back-fill has not run: queue it (once: the state item is written with the
    job's id only if there is none). A state left "running" without a job for STALE_START_SECONDS
    (the reader that wrote it died before queueing) gets one; so does one whose job gave up (it
    resumes from the checkpoint)."""
    from ..jobs import service as jobs

    now = clock.now().timestamp()
    if _asked.get(p.tenant_id, 0) > now:
        return
    _asked[p.tenant_id] = now + NOT_READY_SECONDS
    pk, sk = FamilyState.key(p.tenant_id)
    try:
        FamilyState(pk=pk, sk=sk, tenant_id=p.tenant_id, state="running", checkpoint={}, done=0, generation=0,
                    updated_at=clock.now_iso()).save(condition=FamilyState.pk.does_not_exist())
        before = None
    except PutError:  # queued, running or done already — unless its job gave up or was never queued
        state = FamilyState.get(pk, sk, consistent_read=True)
        if state.state == "done":
            return
        if state.job_id:
            if _job_status(p, state.job_id) not in ("failed", "cancelled"):
                return
        elif (clock.now() - clock.parse_iso(state.updated_at)).total_seconds() < STALE_START_SECONDS:
            return  # another reader is queueing it right now
        before = state.job_id
    job = jobs.create(p, BACKFILL_KIND, {}, label=("客户360索引补全", "Back-filling the 360 index"))
    try:
        FamilyState(pk=pk, sk=sk).update(actions=[FamilyState.job_id.set(str(job["id"])), FamilyState.updated_at.set(clock.now_iso())],
                                         condition=FamilyState.job_id.does_not_exist() if before is None
                                         else FamilyState.job_id == before)
    except UpdateError:  # another reader queued one at the same moment: this one has nothing to do
        jobs.cancel(p, str(job["id"]))


def _job_status(p: Any, job_id: str) -> str | None:
    from ..jobs.models import Job

    try:
        return Job.get(*Job.key(p.tenant_id, job_id)).status
    except DoesNotExist:
        return "failed"


JOBS = {RESTAMP_KIND: run_restamp, BACKFILL_KIND: run_backfill}


def again(tenant_id: str) -> None:
    """Walk the tenant once more (after a rollback and the redeploy, or a release that changes which
    types roll up): until the walk has finished, its 360s are read per parent again — here at once,
    in other containers within CRM_AUTHZ_CACHE_SECONDS. A new generation: a walk still running
    stops writing its checkpoint and continues from this reset."""
    try:
        FamilyState(*FamilyState.key(tenant_id)).update(actions=[
            FamilyState.state.set("running"), FamilyState.checkpoint.set({}), FamilyState.done.set(0),
            FamilyState.generation.add(1), FamilyState.fresh.remove(), FamilyState.updated_at.set(clock.now_iso())],
            condition=FamilyState.pk.exists())
    except UpdateError as e:  # never walked: its first back-fill walks it all anyway
        if getattr(e, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
    _ready.pop(tenant_id, None)


def tenant_ids() -> list[str]:
    from ..tenants.models import Tenant

    return [t.id for t in Item.gsi2.query("PLATFORM#TENANTS") if isinstance(t, Tenant)]


def main(argv: list[str] | None = None) -> int:
    """`python -m chalicelib.engine.family [--again] [tenant …]`: the back-fill of the tenants named
    (default: every tenant), run to the end once a deployment has fully shifted; safe to repeat (a
    finished tenant is not walked again, except a `fresh` one once; --again walks them all again:
    after a rollback and the redeploy, or a release that changes which record types roll up)."""
    import sys

    from .. import manifest

    manifest.install()
    args = list(sys.argv[1:] if argv is None else argv)
    tenants = [a for a in args if a != "--again"] or tenant_ids()
    if "--again" in args:
        for t in tenants:
            again(t)
    done = {t: backfill(t) for t in tenants}
    print(" ".join(f"{t}={'done' if ok else 'stopped'}" for t, ok in sorted(done.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
