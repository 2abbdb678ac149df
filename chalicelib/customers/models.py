"""Customers (客户): the reference record module.

Keys follow db/records.Record (ENTITY = CUSTOMER):
- get by id: GetItem pk = T#<t>#CUSTOMER#<id>, sk = "#"
- an owner's customers (hand-over walks them): Query gsi1 T#<t>#CUSTOMER#OWNER#<user>
- all customers of the tenant (reindex reads them): Query gsi2 T#<t>#CUSTOMER
- lists, search, filters, facets, "shared with me": the search index (search/service.py)
- recycle bin: gsi2 T#<t>#BIN
- related records (contacts, deals … in later modules): gsi3 T#<t>#CUSTOMER#<id>
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, UnicodeAttribute

from ..db.base import DecimalAttribute
from ..db.records import Record


class Customer(Record, discriminator="CUSTOMER"):
    ENTITY = "CUSTOMER"
    MODULE = "customers"
    NAME_KEY = "entity.customer"
    FIELDS = ("name", "customer_type", "level", "industry", "source", "mobile", "phone", "email", "website", "region",
              "address", "remark", "tags", "deal_status", "locked", "credit_limit")
    SEARCH_TEXT = ("name", "address", "remark")  # full text (Chinese bigrams), exact match ranks first
    SEARCH_PREFIX = ("mobile", "phone", "email")  # match by prefix

    name = UnicodeAttribute()
    customer_type = UnicodeAttribute(null=True)
    level = UnicodeAttribute(null=True)
    industry = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)
    mobile = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    website = UnicodeAttribute(null=True)
    region = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)
    remark = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    deal_status = UnicodeAttribute(default="none")
    locked = BooleanAttribute(default=False)
    credit_limit = DecimalAttribute(null=True)
