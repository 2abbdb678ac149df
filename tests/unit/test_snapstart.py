"""SnapStart restore hook: a restored environment builds its own clients and draws its own randomness."""
from __future__ import annotations

import random
import sys
import types

from chalicelib import ports
from chalicelib.core import snapstart
from chalicelib.db import base
from chalicelib.search import port as search_port


def test_given_cached_clients_when_snapshot_restored_then_they_are_created_again():
    before = ports.client("stepfunctions")
    connection = base.connection()
    search_port.get_index()

    snapstart.after_restore()

    assert ports._clients == {}
    assert search_port._index is None
    assert base._connection is None
    assert ports.client("stepfunctions") is not before
    assert base.connection() is not connection


def test_given_random_state_in_the_snapshot_when_restored_twice_then_each_restore_draws_differently():
    random.seed(42)  # what every environment restored from one snapshot would share
    snapshot = random.getstate()

    snapstart.after_restore()
    first = random.random()
    random.setstate(snapshot)
    snapstart.after_restore()
    second = random.random()

    random.setstate(snapshot)
    assert first != second != random.random()


def test_given_no_lambda_runtime_when_registering_then_nothing_is_registered(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as outside Lambda

    assert snapstart.register() is False


def test_given_lambda_runtime_hooks_when_registering_then_after_restore_is_registered(monkeypatch):
    registered = []
    hooks = types.ModuleType("snapshot_restore_py")
    hooks.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", hooks)

    assert snapstart.register() is True
    assert registered == [snapstart.after_restore]
