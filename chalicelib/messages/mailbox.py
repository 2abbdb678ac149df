"""A user's mailbox item: the version every new message or notification bumps (the long-poll
waits for it to move) and the unread-message total. Other modules (the notification inbox) add
`bump_op` to the transaction that delivers something to a user."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from ..core import clock
from ..db import keys, tx
from .models import Mailbox


def key(tenant_id: str, user_id: str) -> tuple[str, str]:
    return keys.k(tenant_id, "MBOX", user_id), "#"


def bump_op(tenant_id: str, user_id: str, unread: int = 0) -> tx.Op:
    """Version + 1 (and the unread-message total + `unread`), in the caller's transaction."""
    pk, sk = key(tenant_id, user_id)
    actions = [Mailbox.version.add(1), Mailbox.changed_at.set(clock.now_iso()), Mailbox.tenant_id.set(tenant_id),
               Mailbox.type.set(Mailbox)]
    if unread:
        actions.append(Mailbox.unread.add(unread))
    return tx.update(Mailbox(pk=pk, sk=sk), actions)


def read(tenant_id: str, user_id: str, consistent: bool = False) -> tuple[int, int]:
    """(version, unread messages)."""
    try:
        m = Mailbox.get(*key(tenant_id, user_id), consistent_read=consistent)
    except DoesNotExist:
        return 0, 0
    return int(m.version or 0), max(0, int(m.unread or 0))
