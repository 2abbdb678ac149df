"""Runtime configuration, read from the environment once per process.

Every value has a default that works for the local stack; AWS deployments set them
through the CDK stack (infra/). Reading settings never talks to AWS.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, SecretStr

PREFIX = "CRM_"
ALIASES = {"opensearch_url": ("OPENSEARCH_URL",)}  # read when CRM_<NAME> is not set


class Settings(BaseModel):
    """Each field is read from the environment variable CRM_<FIELD> (any case), else its default;
    values are validated as given (lax: "true", "42", "0.5" convert)."""
    model_config = ConfigDict(extra="ignore", frozen=True)

    stage: str = Field("local", description="local | test | dev | prod")
    region: str = Field("ap-southeast-1", description="AWS region of every resource")
    table_name: str = "crm-local"
    event_bus_name: str = "crm-local"
    schedule_group: str = "crm-local"
    # ARN of the reminders Lambda and the role Scheduler assumes to invoke it.
    reminder_target_arn: str = "arn:aws:lambda:ap-southeast-1:000000000000:function:crm-reminders"
    scheduler_role_arn: str = "arn:aws:iam::000000000000:role/crm-scheduler"
    schedule_dlq_arn: str = Field("", description="SQS queue a schedule's invocations go to once its retries are spent "
                                                  "(empty: none)")
    archive_bucket: str = "crm-local-archive"
    job_timeout_seconds: int = Field(900, ge=60, le=900, description="time of one invocation of functions/jobs.py (its "
                                                                     "Lambda timeout): a job's runner stops a minute before")
    # Files (attachments, file/image fields, form attachments): presigned S3 uploads and downloads.
    files_bucket: str = Field("crm-local-files", description="bucket of uploaded files (private; clients use presigned URLs)")
    file_max_bytes: int = Field(50 * 1024 * 1024, ge=1, le=5 * 1024**3,
                                description="largest file a client may upload (one presigned PUT: at most 5 GiB)")
    file_content_types: str = Field(
        "application/pdf,application/ofd,text/plain,text/csv,image/png,image/jpeg,image/gif,image/webp,image/bmp,"
        "application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
        "application/vnd.ms-powerpoint,application/vnd.openxmlformats-officedocument.presentationml.presentation,"
        "application/zip,application/x-zip-compressed,application/x-7z-compressed,application/vnd.rar,"
        "audio/mpeg,audio/wav,video/mp4",
        description="comma-separated content types clients may upload (no HTML, SVG or scripts)")
    file_upload_url_minutes: int = Field(15, ge=1, le=60, description="how long a presigned upload (PUT) URL is valid")
    file_download_url_minutes: int = Field(10, ge=1, le=60, description="how long a presigned download (GET) URL is valid")
    # Approvals (ARCHITECTURE.md §5): the state machine built from step_functions/approval.asl.json.
    approval_state_machine_arn: str = Field(
        "", description="ARN of the approval state machine; empty = the local stack's crm-approval in the default account")
    approval_token_wait_seconds: float = Field(5.0, description="how long a decision waits for the execution to reach its step")
    default_timezone: str = "Asia/Shanghai"

    # Identity. Tokens are always verified: issuer, audience, expiry and signature (JWKS).
    identity_provider: str = Field("local", description="local (alias builtin: the product's own IdP, POST /v1/auth/login) "
                                                        "| cognito")
    jwt_issuer: str = "http://127.0.0.1/local-idp"
    jwt_audience: str = "crm-web"
    jwks_url: str = Field("", description="https://… or file://… JWKS document")
    local_idp_key_file: str = Field(".local/idp-key.pem", description="private key file(s) of the local IdP, comma-separated: "
                                                                   "the first signs, all verify (rotation)")
    token_signing_keys: str = Field("", description="KMS keys (ids, ARNs, aliases; comma-separated) the own IdP signs tokens "
                                                    "with: the first signs, all verify; empty = the key files above")
    token_ttl_seconds: int = Field(3600, ge=60, le=86400, description="lifetime of the own IdP's tokens")
    cognito_user_pool_id: str = ""
    cognito_client_id: str = ""
    mfa_default: str = Field("required", pattern="^(required|optional)$",
                             description="staff sign-in with a second factor (TOTP) in tenants whose administrators have not "
                                         "chosen: required | optional (the local stack and the tests start tenants with optional)")
    mfa_issuer: str = Field("CRM", description="the issuer an authenticator app shows next to the account")
    mfa_seed_key: str = Field("", description="symmetric KMS key (id, ARN or alias) that encrypts TOTP seeds at rest "
                                               "(envelope encryption); empty = the key file below")
    local_mfa_seed_key_file: str = Field("", description="key file of TOTP seeds when no KMS key is set (local stack, tests); "
                                                         "empty = mfa-seed-key next to the local IdP's key file")

    # Search (ARCHITECTURE.md §4): OpenSearch when a URL is set, else the embedded engine.
    opensearch_url: str = Field("", description="also read from OPENSEARCH_URL; "
                                "https://domain-endpoint (SigV4 in AWS) or http://127.0.0.1:<port>; empty = embedded")
    search_index_prefix: str = Field("crm-local", description="prefix of the search indices (one per entity)")
    search_file: str = Field(".local/search.sqlite3", description="file of the embedded search engine")
    search_replicas: str = Field("0-1", description='replicas per index: a number, or a range such as "0-1" (auto-expand)')

    # Page cursors (core/pagination.py) are signed with this per-deployment secret. In AWS the stack
    # creates it in Secrets Manager and resolves it into the environment at deploy time (infra/README.md);
    # the local stack and the tests generate one. Empty outside local/test stages = cursors refuse to work.
    cursor_secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key of page cursors (at least 32 characters)")
    cursor_ttl_seconds: int = Field(86400, ge=60, description="how long a page cursor stays valid")

    # Behaviour
    audit_ttl_days: int = 180
    idempotency_ttl_hours: int = 24
    authz_cache_seconds: float = 10.0
    settings_cache_seconds: float = 30.0
    page_size_default: int = 20
    page_size_max: int = 100
    # Messages (chalicelib/messages): the pull endpoint's long-poll (API Gateway answers 504 after 29 s)
    messages_poll_max_wait_seconds: float = Field(20.0, ge=0, le=25, description="longest wait of GET /v1/messages/poll")
    messages_poll_interval_seconds: float = Field(1.0, gt=0, le=10, description="how often a waiting poll reads the mailbox")
    # Rate limits (core/ratelimit.py): a token bucket per tenant, unless the tenant has its own
    # (platform API); at most the API Gateway stage's throttling (infra/components/api.py).
    rate_limit_per_second: float = Field(50.0, ge=0.01, le=10000, description="a tenant's sustained requests per second")
    rate_limit_burst: int = Field(100, ge=1, le=100000, description="a tenant's requests at once after a quiet spell")
    rate_limit_lease: int = Field(10, ge=1, le=100, description="tokens a container takes from its tenant's bucket in one "
                                                                "write, at most (and at most a tenth of the bucket)")
    sign_in_per_minute: int = Field(10, ge=1, le=10000,
                                    description="sign-in attempts per mobile number (and tenant) per minute, known or not")
    password_cost: int = Field(14, ge=1, le=20, description="log2 of scrypt's N for new password hashes; below 14 only "
                                                           "in the local and test stages (the tests), raised to 14 elsewhere")
    # Webhooks (chalicelib/webhooks): deliveries' time limit, back-off and the loopback switch (local stack, tests).
    webhook_allow_loopback: bool = Field(False, description="let webhooks point at 127.0.0.0/8 and ::1, http or https "
                                                            "(the local stack and tests only; never in AWS)")
    webhook_loopback_only: bool = Field(False, description="refuse every webhook address but loopback, without asking DNS "
                                                           "(the local stack: nothing it sends leaves the machine)")
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=30, description="how long one delivery attempt may take")
    webhook_retry_hours: float = Field(24.0, gt=0, le=72, description="how long a failing delivery is retried before it "
                                                                     "is dead-lettered")
    webhook_retry_base_seconds: float = Field(30.0, gt=0, description="the first retry's delay; it doubles per attempt")
    webhook_retry_max_seconds: float = Field(3600.0, gt=0, description="the longest delay between two attempts")
    webhook_max_per_tenant: int = Field(20, ge=1, le=100, description="webhooks a tenant may register")
    cors_origins: str = Field("*", description="comma-separated origins browsers may call the API from (* = any; the "
                                               "first is the one API Gateway's preflight answers name)")
    # Mail (chalicelib/mail, WORK-5): SES sending, SES receiving into the mail bucket, bulk sends.
    mail_enabled: bool = Field(True, description="whether mail is sent (false where SES is not offered, e.g. the China "
                                                 "regions: sending answers 503 MAIL_DISABLED)")
    mail_bucket: str = Field("crm-local-mail", description="bucket SES receiving writes inbound mails to (inbound/…)")
    mail_domain: str = Field("mail.crm.local", description="the verified SES domain mails are sent from and received at")
    mail_send_per_second: float = Field(14.0, gt=0, le=1000, description="bulk sends per second (the account's SES rate)")
    mail_inbound_max_bytes: int = Field(30 * 1024 * 1024, ge=1024, description="largest inbound mail that is read")
    mail_public_url: str = Field("http://127.0.0.1:8000", description="base URL of the API in unsubscribe links")
    tenant_role_arn: str = Field("", description="IAM role the API assumes per tenant (session tag tenant=<id>) for its "
                                                "data access (chalicelib/db/credentials.py); empty: the function's own role")
    max_request_bytes: int = Field(10 * 1024 * 1024, ge=1, le=10 * 1024 * 1024,
                                   description="largest request body; larger ones get 413 (API Gateway's REST API limit: 10 MB)")


def _own_idp_alias(settings: Settings) -> Settings:
    """``builtin`` (the infrastructure's name for the product's own IdP) is ``local``."""
    if settings.identity_provider.strip().lower() == "builtin":
        return settings.model_copy(update={"identity_provider": "local"})
    return settings


def from_environment(environ: dict[str, str] | None = None) -> Settings:
    """The settings the environment gives (a plain reader: pydantic-settings costs a Lambda's cold
    start about 50 ms of imports for what these lines do)."""
    env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
    values: dict[str, str] = {}
    for name in Settings.model_fields:
        for key in (PREFIX + name.upper(), *ALIASES.get(name, ())):
            if key in env:
                values[name] = env[key]
                break
    return _own_idp_alias(Settings.model_validate(values))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_environment()


def reset_settings() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Run with these environment variables (None = unset), then restore them; settings are
    re-read on the way in and out (tests and the benchmark switch configurations this way)."""
    saved = {k: os.environ.get(k) for k in values}

    def apply(pairs: dict[str, str | None]) -> None:
        for k, v in pairs.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()

    apply(values)
    try:
        yield
    finally:
        apply(saved)
