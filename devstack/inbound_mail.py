"""`python -m devstack.inbound_mail FILE.eml`: deliver a mail to the local stack as SES receiving does —
the raw message becomes an object under inbound/ of the mail bucket, whose notification reaches the
inbound-mail function (the local driver calls it within a second). Prints the object's key."""
from __future__ import annotations

import sys
import uuid


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    import os

    from devstack.run import configure_env

    configure_env(int(os.environ.get("CRM_MOTO_PORT", 5005)), int(os.environ.get("CRM_API_PORT", 8000)))
    from chalicelib.ports import mail

    raw = sys.stdin.buffer.read() if args[0] == "-" else open(args[0], "rb").read()
    key = f"{mail.INBOUND_PREFIX}{uuid.uuid4().hex}"
    mail.put_inbound(key, raw)
    print(key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
