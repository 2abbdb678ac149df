"""Lambda SnapStart: what a restored snapshot must not share with the other environments restored
from it.

The API function runs with SnapStart (infra/components/api.py): Lambda initialises a published
version once (imports, settings), snapshots its memory and restores that snapshot on each cold
start. Whatever the snapshot holds is then held by every environment restored from it: the cached
AWS clients and their open connections (stale sockets, and credentials of the initialising
environment), and the state of the ``random`` module (every environment would draw the same
backoff jitter). After a restore those clients are dropped (created again on first use) and
``random`` is reseeded from the operating system. Identifiers and secrets do not depend on it:
they come from ``os.urandom`` / ``secrets``.

``register`` is called once when ``app.py`` is imported; the hook API exists only in the Lambda
runtime (``snapshot_restore_py``), elsewhere registering does nothing.
"""
from __future__ import annotations

import sys


def after_restore() -> None:
    """Drop the process's cached clients and connections and reseed ``random``. Only modules
    already imported are reset (importing one here would only slow the restore down)."""
    ports = sys.modules.get("chalicelib.ports")
    if ports is not None:
        ports.reset()  # boto3 clients (Step Functions, EventBridge, Scheduler, S3, Cognito, SES…)
    db = sys.modules.get("chalicelib.db.base")
    if db is not None:
        db.reset_connections()  # PynamoDB's connections (the models' and the transactions')
    search = sys.modules.get("chalicelib.search.port")
    if search is not None:
        search.reset()  # the OpenSearch client and its connection pool
    random = sys.modules.get("random")
    if random is not None:
        random.seed()  # from os.urandom


def register() -> bool:
    """Run `after_restore` after every SnapStart restore; False outside the Lambda runtime."""
    try:
        from snapshot_restore_py import register_after_restore  # the Lambda Python runtime's hooks API
    except ImportError:
        return False
    register_after_restore(after_restore)
    return True
