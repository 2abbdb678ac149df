"""The AWS partition a region belongs to, and the domain its service endpoints live under.

ARNs start ``arn:<partition>:`` and endpoints end with the partition's domain: ``aws`` /
``amazonaws.com`` for the commercial regions, ``aws-cn`` / ``amazonaws.com.cn`` for the China
regions (``cn-north-1``, ``cn-northwest-1``), ``aws-us-gov`` for GovCloud (same domain as ``aws``).
"""
from __future__ import annotations

_PARTITIONS = (  # (region prefix, partition, DNS suffix); the first prefix that matches wins
    ("cn-", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-", "aws-us-gov", "amazonaws.com"),
    ("us-iso-", "aws-iso", "c2s.ic.gov"),
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
)
_DEFAULT = ("aws", "amazonaws.com")


def _lookup(region: str) -> tuple[str, str]:
    for prefix, partition, suffix in _PARTITIONS:
        if region.startswith(prefix):
            return partition, suffix
    return _DEFAULT


def partition(region: str) -> str:
    """``ap-southeast-1`` -> ``aws``; ``cn-north-1`` -> ``aws-cn``."""
    return _lookup(region)[0]


def dns_suffix(region: str) -> str:
    """The domain of the region's endpoints: ``amazonaws.com``, ``amazonaws.com.cn`` for China."""
    return _lookup(region)[1]


def endpoint_host(service: str, region: str) -> str:
    """``cognito-idp`` in ``cn-north-1`` -> ``cognito-idp.cn-north-1.amazonaws.com.cn``."""
    return f"{service}.{region}.{dns_suffix(region)}"
