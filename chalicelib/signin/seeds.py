"""One-off migration: store the TOTP seeds written before envelope encryption encrypted (a factor is
also re-written when its next code is checked, so this only hurries the rest). Run once per stage
with the API's settings (CRM_TABLE_NAME, CRM_MFA_SEED_KEY):

    python -m chalicelib.signin.seeds            # every tenant
    python -m chalicelib.signin.seeds acme beta  # these tenants

Idempotent: an encrypted factor is left as it is.
"""
from __future__ import annotations

import argparse


def all_tenant_ids() -> list[str]:
    """Every tenant's code (the platform's tenant list: gsi2, one partition)."""
    from ..db.base import Item
    from ..tenants.models import Tenant

    return [t.id for t in Item.gsi2.query("PLATFORM#TENANTS") if isinstance(t, Tenant)]


def migrate(tenant_ids: list[str]) -> dict[str, int]:
    from . import service

    return {t: service.encrypt_plaintext_seeds(t) for t in tenant_ids}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="encrypt TOTP seeds stored in plaintext")
    ap.add_argument("tenants", nargs="*", help="tenant codes (default: every tenant)")
    args = ap.parse_args(argv)
    from .. import manifest

    manifest.install()
    for tenant, count in migrate(args.tenants or all_tenant_ids()).items():
        print(f"{tenant}\t{count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
