"""Mail (WORK-5): SES sending and receiving.

- The SES domain identity mails are sent from (context ``mail_domain``; every tenant sends from and
  receives at its subdomain ``<tenant>.<mail_domain>``, which the domain's verification covers; DKIM
  records come from the identity).
- The mail bucket: private, TLS only, SSE-S3, access-logged; inbound mails under ``inbound/`` expire
  after ``INBOUND_DAYS`` (their contents are in the table by then, attachments in the files bucket).
  Its policy lets SES receiving put objects under ``inbound/`` only for this account
  (``aws:SourceAccount``) and this stage's receipt rule (``aws:SourceArn``).
- A receipt rule set with one rule: mail for the domain and its subdomains, spam and virus scanned,
  TLS required, written to the bucket. (SES has one active rule set per region: activate it once with
  ``aws ses set-active-receipt-rule-set``; see infra/README.md.)
- New objects under ``inbound/`` notify the inbound-mail function's queue (``functions/registry.py``:
  ``s3_queue``), which reads them (``s3:GetObject`` on ``inbound/*``, nothing else of the bucket) and
  looks senders up in the search index (read only).
- ``ses:SendRawEmail`` on the identity only, for the API and the functions that send (need ``mail_send``).
"""
from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions

from chalicelib.ports.mail import INBOUND_PREFIX
from functions.registry import Function
from infra.components.nag import acknowledge, acknowledge_basic_execution, resource_finding
from infra.components.naming import Stage
from infra.components.regions import region_profile
from infra.components.search import SEARCH_READ_ACTIONS
from infra.components.storage import Storage, private_bucket

DEFAULT_DOMAIN = "mail.example.com"
INBOUND_DAYS = 30
SEND_ACTIONS = ("ses:SendRawEmail",)


def rule_names(stage: Stage) -> tuple[str, str]:
    """The receipt rule set and the rule of the stage (fixed names: the mail bucket's policy names the rule)."""
    return f"{stage.prefix}-inbound", f"{stage.prefix}-to-bucket"


def mail_bucket(stage: Stage, storage: Storage) -> s3.Bucket:
    """The mail bucket (in the data stack) and its policy: SES receiving may put objects under ``inbound/``
    for this account and the stage's receipt rule only (named, not referenced: the rule is in the stage's stack)."""
    scope = stage.stack
    bucket = private_bucket(
        scope,
        "MailBucket",
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=storage.access_logs_bucket,
        server_access_logs_prefix="mail/",
        lifecycle_rules=[s3.LifecycleRule(id="expire-inbound-mail", prefix=INBOUND_PREFIX,
                                          expiration=cdk.Duration.days(INBOUND_DAYS))],
        removal_policy=stage.removal_policy,
        auto_delete_objects=False,
    )
    if not region_profile(scope).mail:
        return bucket  # no SES in the region (or context mail=off): the bucket stays, nothing may put into it
    rule_set_name, rule_name = rule_names(stage)
    rule_arn = cdk.Stack.of(scope).format_arn(service="ses", resource="receipt-rule-set",
                                              resource_name=f"{rule_set_name}:receipt-rule/{rule_name}",
                                              arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME)
    bucket.add_to_resource_policy(iam.PolicyStatement(
        sid="SesReceivingPutsInboundMail",
        principals=[iam.ServicePrincipal("ses.amazonaws.com")],
        actions=["s3:PutObject"],
        resources=[bucket.arn_for_objects(f"{INBOUND_PREFIX}*")],
        conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}, "ArnLike": {"aws:SourceArn": rule_arn}},
    ))
    return bucket


class Mail:
    """The SES identity and receipt rules (in the stage's stack), writing to the data stack's mail bucket."""

    def __init__(self, stage: Stage, bucket: s3.Bucket) -> None:
        scope = stage.stack
        self.stage = stage
        self.domain = str(scope.node.try_get_context("mail_domain") or DEFAULT_DOMAIN).strip().lower()
        # the API's public URL (custom domain or stage URL), for the unsubscribe links of bulk mail (context public_api_url)
        self.public_url = str(scope.node.try_get_context("public_api_url") or "").strip().rstrip("/")
        self.bucket = bucket
        self.rule_set_name, self.rule_name = rule_names(stage)
        # where SES is not offered (the China regions, ap-east-1; context mail=off) nothing of SES is made
        self.enabled = region_profile(scope).mail
        if not self.enabled:
            return
        self.identity = ses.EmailIdentity(scope, "MailIdentity", identity=ses.Identity.domain(self.domain))
        self.rule_set = ses.ReceiptRuleSet(scope, "MailReceiptRuleSet", receipt_rule_set_name=self.rule_set_name)
        self.rule = self.rule_set.add_rule("ToBucket", receipt_rule_name=self.rule_name,
                                           recipients=[self.domain, f".{self.domain}"], scan_enabled=True,
                                           tls_policy=ses.TlsPolicy.REQUIRE,
                                           actions=[ses_actions.S3(bucket=self.bucket, object_key_prefix=INBOUND_PREFIX)])

    def identity_arn(self) -> str:
        return cdk.Stack.of(self.stage.stack).format_arn(service="ses", resource="identity", resource_name=self.domain)

    def inbound_objects_arn(self) -> str:
        return self.bucket.arn_for_objects(f"{INBOUND_PREFIX}*")

    def send_statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(actions=list(SEND_ACTIONS), resources=[self.identity_arn()])

    def wire(self, *, api_role: iam.IRole, functions: object, specs: Sequence[Function], search_domain_arn: str) -> None:
        """Grants and the bucket's notification, once the API and the functions exist."""
        if self.enabled:
            api_role.add_to_principal_policy(self.send_statement())
        fns = functions.functions
        queues = functions.s3_queues
        for spec in specs:
            fn = fns[spec.name]
            if "mail_send" in spec.needs and self.enabled:
                fn.add_to_role_policy(self.send_statement())
            if "mail_inbound" in spec.needs:
                fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.inbound_objects_arn()]))
                acknowledge(fn, "AwsSolutions-IAM5", "Inbound mail objects are named by SES at receipt time: the function "
                            "reads the mail bucket's inbound/ prefix and nothing else.",
                            [resource_finding(fn, self.inbound_objects_arn())])
            if "search_read" in spec.needs:
                fn.add_to_role_policy(iam.PolicyStatement(actions=list(SEARCH_READ_ACTIONS), resources=[search_domain_arn]))
                acknowledge(fn, "AwsSolutions-IAM5", "Search index paths are generated at run time: reads on the stage's "
                            "domain, limited to its crm-<stage>-* indices by fine-grained access control.",
                            [resource_finding(fn, search_domain_arn)])
            if spec.name in queues and (spec.extra.get("s3_queue") or {}).get("bucket") == "mail":
                # on the bucket as this stack sees it: the notification (a custom resource) and the queue stay here,
                # and the data stack never refers to this one
                bucket = s3.Bucket.from_bucket_attributes(self.stage.stack, "MailBucketRef", bucket_arn=self.bucket.bucket_arn,
                                                          bucket_name=self.bucket.bucket_name)
                bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.SqsDestination(queues[spec.name]),
                                              s3.NotificationKeyFilter(prefix=INBOUND_PREFIX))
        stack = cdk.Stack.of(self.stage.stack)
        for child in stack.node.children:  # the CDK's singleton that writes bucket notifications (a custom resource)
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge_basic_execution(child)
