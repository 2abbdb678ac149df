"""Mail (WORK-5): bulk mail to 10,000 contacts on the local stack — enqueue time and send throughput.

In-process moto (DynamoDB, S3, SES, SQS, EventBridge) and the embedded search engine, as the integration
tests run. A tenant's rep owns one customer with CONTACTS contacts (every 50th unsubscribed, every 100th
without an address), written with batch writes and bulk-indexed. Then:
- enqueue: POST /v1/mail/campaigns as the rep (the template checked, the list counted, the job queued);
- send: the job's invocations (functions/jobs.py's runner, in this process) until it is done — per
  recipient: the send-log item written first, the suppression check, the template rendered with the
  contact's values, the MIME built, SES SendRawEmail, then the log, timeline link and Message-ID index
  in one transaction. The pace (CRM_MAIL_SEND_PER_SECOND, the SES account's rate, 14/s by default) is
  set high here, so the figure is what the code and the local stack sustain; in AWS the quota paces it.
  Each sent mail is a `mail` record (with its log entry, timeline links, Message-ID index and send-log
  row), written in batch writes of campaigns.FLUSH_EVERY mails.
- re-stamp: the sent mails put in a shared mailbox, then a member added (PATCH /v1/mail/mailboxes/{id}) and
  the job that re-stamps their record team run until done (mails/s).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

CONTACTS = 10_000


def run(contacts: int = CONTACTS) -> dict[str, Any]:
    from moto import mock_aws

    import tests.conftest  # noqa: F401 - the test environment (in-process moto, embedded search)
    from chalicelib.core.settings import environment

    with environment(CRM_MAIL_SEND_PER_SECOND="1000", CRM_SEARCH_FILE=os.path.join(_tmp(), "search.sqlite3")), \
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        from chalice.test import Client

        from app import app
        from devstack.moto_patches import patch_dynamodb
        from devstack.resources import create_resources
        from tests.conftest import reset_process_state

        patch_dynamodb()
        reset_process_state()
        create_resources()
        with Client(app, stage_name="bench") as client:
            return _measure(client.http, contacts)


def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="crm-bench-mail-")


def _measure(http: Any, contacts: int) -> dict[str, Any]:
    from chalicelib.db.batch import put_all
    from chalicelib.engine import registry, store
    from chalicelib.engine import service as engine
    from chalicelib.mail.models import Suppression
    from chalicelib.search.port import get_index
    from tests.conftest import platform_token

    def call(method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        h = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        r = getattr(http, method.lower())(path, headers=h, body=json.dumps(body) if body is not None else None)
        return r.status_code, json.loads(r.body) if r.body else None

    tenant = "benchmail"
    status, made = call("POST", "/v1/platform/tenants", platform_token(), {
        "id": tenant, "name": "群发基准公司", "admin_name": "管理员", "admin_mobile": "13800000000", "admin_password": "Passw0rd!2026"})
    assert status == 201, made
    _, login = call("POST", "/v1/auth/login", None, {"tenant_id": tenant, "mobile": "13800000000", "password": "Passw0rd!2026"})
    admin = login["id_token"]
    _, rep = call("POST", "/v1/org/users", admin, {"name": "李娜", "mobile": "13900000002", "department_id": made["top_department_id"],
                                                   "role_ids": ["sales_rep"], "password": "Passw0rd!2026"})
    _, login = call("POST", "/v1/auth/login", None, {"tenant_id": tenant, "mobile": "13900000002", "password": "Passw0rd!2026"})
    token = login["id_token"]
    _, customer = call("POST", "/v1/customers", token, {"name": "群发客户", "email": "buyer@bench.example"})
    contact = registry.find("contact")
    t = time.perf_counter()
    records, suppressed = [], []
    family = store.family_of(tenant, ("CUSTOMER", customer["id"]))  # their family (gsi5): the customer's, read once
    for i in range(contacts):
        data = {"name": f"联系人{i:05d}", "customer": {"entity": "customer", "id": customer["id"]}}
        if i % 100 != 99:
            data["email"] = f"c{i:05d}@bench.example"
        rec = store.new(tenant, contact.entity, rep["id"], rep["id"], data, parent=("CUSTOMER", customer["id"]), family=family)
        records.append(rec)
        if i % 50 == 0:
            suppressed.append(Suppression(pk=Suppression.partition(tenant), sk=data["email"], tenant_id=tenant,
                                          address=data["email"], created_at=rec.created_at))
    put_all([*records, *suppressed], workers=4)
    get_index().bulk([op for rec in records if (op := engine.index_op(rec)) is not None])
    seeded = time.perf_counter() - t
    t = time.perf_counter()
    status, campaign = call("POST", "/v1/mail/campaigns", token, {"type": "contact", "subject": "{{ record.name }}，新品发布会邀请",
                                                                "body_text": "{{ record.name }} 您好，诚邀您参加。"})
    enqueue = time.perf_counter() - t
    assert status == 202, campaign
    send, cpu = _drain_jobs(tenant)
    _, done = call("GET", f"/v1/mail/campaigns/{campaign['id']}", token)
    counts = done["counts"]
    restamp = _restamp(call, admin, tenant, rep["id"], campaign["id"])
    return {**restamp, "contacts": contacts, "seed_seconds": round(seeded, 1), "enqueue_ms": round(enqueue * 1000, 1),
            "send_seconds": round(send, 1), "send_cpu_seconds": round(cpu, 1),
            "sent_per_second": round(counts.get("sent", 0) / send, 1), "recipients_per_second": round(contacts / send, 1),
            "counts": counts, "status": done["status"]}


def _drain_jobs(tenant: str) -> tuple[float, float]:
    """Run the tenant's queued jobs until none is left, as functions/jobs.py would: (wall, CPU) seconds."""
    from chalicelib.core import context
    from chalicelib.jobs import service as jobs

    t, c = time.perf_counter(), time.process_time()
    with context.acting_as(context.system_context(tenant)):
        jobs.run_queued()
    return time.perf_counter() - t, time.process_time() - c


def _restamp(call: Any, admin: str, tenant: str, member: str, campaign_id: str) -> dict[str, Any]:
    """The campaign's mails in a shared mailbox (their entries put directly), then a member added: the time
    of the PATCH and of the re-stamping job."""
    from chalicelib.db.batch import put_all
    from chalicelib.mail.models import Mailbox, MailboxMail, Recipient

    status, box = call("POST", "/v1/mail/mailboxes", admin, {"name": "市场部", "local_part": "market"})
    assert status == 201, box
    pk = Mailbox.key(tenant, box["id"])[0]
    sent = [r for r in Recipient.query(Recipient.partition(tenant, campaign_id)) if isinstance(r, Recipient) and r.mail_id]
    put_all([MailboxMail(pk=pk, sk=MailboxMail.sort_key(r.updated_at, r.mail_id), tenant_id=tenant, mail_id=r.mail_id)
             for r in sent], workers=4)
    t = time.perf_counter()
    status, patched = call("PATCH", f"/v1/mail/mailboxes/{box['id']}", admin,
                           {"add_member_ids": [member], "version": box["version"]})
    patch = time.perf_counter() - t
    assert status == 200, patched
    took, cpu = _drain_jobs(tenant)
    _, job = call("GET", f"/v1/jobs/{patched['job_id']}", admin)
    assert job["status"] == "succeeded", job
    return {"restamp_mails": len(sent), "restamp_patch_ms": round(patch * 1000, 1), "restamp_seconds": round(took, 1),
            "restamp_cpu_seconds": round(cpu, 1), "restamp_per_second": round(len(sent) / took, 1)}


def text(m: dict[str, Any]) -> str:
    return (f"Mail: bulk mail to {m['contacts']} contacts: enqueue {m['enqueue_ms']} ms; sent in {m['send_seconds']} s "
            f"({m['sent_per_second']} mails/s, {m['recipients_per_second']} recipients/s; counts {m['counts']}); "
            f"re-stamp of {m['restamp_mails']} mailbox mails after a member joined: PATCH {m['restamp_patch_ms']} ms, "
            f"job {m['restamp_seconds']} s ({m['restamp_per_second']} mails/s)\n")


def rows(m: dict[str, Any]) -> str:
    return (f"| Bulk mail to {m['contacts']:,} contacts (local stack, pace unlimited) | enqueue **{m['enqueue_ms']} ms**; "
            f"**{m['sent_per_second']} mails/s** ({m['send_seconds']} s); mailbox re-stamp **{m['restamp_per_second']} mails/s** "
            f"| 1 | reported |")


def run_isolated(contacts: int = CONTACTS) -> dict[str, Any]:
    """The measurement in a fresh interpreter (it runs on in-process moto with the test environment; `make bench`'s
    own process keeps its moto server and settings)."""
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run([sys.executable, "-m", "bench.mail", "--json", str(contacts)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, timeout=3600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """`python -m bench.mail [--json] [contacts]`: this measurement alone."""
    import sys

    args = [a for a in sys.argv[1:] if a != "--json"]
    result = run(int(args[0]) if args else CONTACTS)
    print(json.dumps(result, ensure_ascii=False) if "--json" in sys.argv else text(result))


if __name__ == "__main__":
    main()
