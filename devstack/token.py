"""Sign a development token with the local identity provider's key.

    python -m devstack.token --platform                 # a platform operator (creates tenants)
    python -m devstack.token --tenant demo --user <id>  # any user of a tenant

Only for the local stack (CRM_IDENTITY_PROVIDER=local); in AWS, Cognito issues tokens.
Run it with the same environment as the stack (`make dev` prints the API port).
"""
from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Sign a local development token")
    ap.add_argument("--platform", action="store_true", help="a platform operator token")
    ap.add_argument("--tenant", default="")
    ap.add_argument("--user", default="operator")
    ap.add_argument("--api-port", type=int, default=int(os.environ.get("CRM_API_PORT", 8000)))
    args = ap.parse_args(argv)
    from devstack.run import configure_env

    configure_env(int(os.environ.get("CRM_MOTO_PORT", 5005)), args.api_port)
    from chalicelib.core.auth import issue_local_token

    print(issue_local_token("" if args.platform else args.tenant, args.user, platform_admin=args.platform))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
