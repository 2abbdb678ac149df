"""db/tx.write: a failed condition is reported by the operation that carries it, whatever the
mix of operation kinds (PynamoDB sends checks, deletes, puts and updates in that order)."""
from __future__ import annotations

import pytest

from chalicelib.core.errors import Conflict, NotFound, ValidationFailed
from chalicelib.db import tx
from chalicelib.db.base import Item


class _Thing(Item, discriminator="TEST_THING"):
    pass


def _thing(pk: str) -> _Thing:
    return _Thing(pk=pk, sk="#", tenant_id="t")


def test_given_puts_before_a_failing_check_when_written_then_the_checks_own_error_is_raised(aws):
    _thing("T#t#X#present").save()
    with pytest.raises(NotFound):
        tx.write([tx.put(_thing("T#t#X#new"), condition=_Thing.pk.does_not_exist(), on_conflict=lambda: ValidationFailed("DUPLICATE")),
                  tx.put(_thing("T#t#X#other")),
                  tx.check(_Thing, "T#t#X#absent", "#", _Thing.pk.exists(), on_conflict=lambda: NotFound())])
    assert _Thing.count("T#t#X#new") == 0  # nothing was written


def test_given_a_failing_put_after_a_check_and_a_delete_when_written_then_the_puts_own_error_is_raised(aws):
    _thing("T#t#Y#present").save()
    _thing("T#t#Y#record").save()
    with pytest.raises(Conflict) as e:
        tx.write([tx.put(_thing("T#t#Y#present"), condition=_Thing.pk.does_not_exist(), on_conflict=lambda: Conflict("FILE_ALREADY_ATTACHED")),
                  tx.delete(_thing("T#t#Y#gone")),
                  tx.check(_Thing, "T#t#Y#record", "#", _Thing.pk.exists())])
    assert e.value.code == "FILE_ALREADY_ATTACHED"
