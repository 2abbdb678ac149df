"""Files (uploads) and the records they are linked to.

Key design:
- file:   pk = T#<t>#FILE#<id>, sk = "#"                      -> a file by id: one GetItem.
          gsi1pk = T#<t>#FILE#OWNER#<uploader>, gsi1sk = <created>#<id>  -> my uploads.
          `status` pending (expires_at = TTL: an upload never confirmed disappears, its object is
          deleted by the bucket's lifecycle) -> uploaded (confirmed: size and SHA-256 checked;
          from then on the file never changes and may be used).
- link:   pk = the file's pk, sk = ATTACH#<ENTITY>#<record id>   (an attachment of a record), or
                                 sk = USE#<ENTITY>#<record id>      (a file in a record's field values,
                                 a form application or an approval comment)
          -> a file with every place it is linked: one Query of its partition (who may read it).
          Attachments also carry gsi3pk = the record's pk (T#<t>#<ENTITY>#<id>),
          gsi3sk = ATTACH#<attached at>#<file id> -> a record's attachments: one Query of the
          record's collection on gsi3 (next to its child records and approvals), newest first.
          Links copy the file's name, size, type and SHA-256 (a confirmed file never changes), so
          the list needs no further read.
"""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned

ENTITY = "FILE"
ATTACH = "ATTACH#"
USE = "USE#"


def file_pk(tenant_id: str, file_id: str) -> str:
    return keys.record_pk(tenant_id, ENTITY, file_id)


def uploads_pk(tenant_id: str, user_id: str) -> str:
    return keys.owner_list(tenant_id, ENTITY, user_id)


def link_sk(kind: str, entity: str, record_id: str) -> str:
    return f"{kind}{entity.upper()}#{record_id}"


class File(Versioned, discriminator="FILE"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    sha256 = UnicodeAttribute()  # hex, as declared by the uploader and checked on confirmation
    status = UnicodeAttribute(default="pending")  # pending | uploaded
    key = UnicodeAttribute()  # the final object key (tenants/<t>/files/<id>/<safe name>)
    uploaded_at = UnicodeAttribute(null=True)

    def values(self) -> dict:
        return {"name": self.name, "content_type": self.content_type, "size": int(self.size), "sha256": self.sha256,
                "status": self.status}


class FileLink(Item, discriminator="FILELINK"):
    file_id = UnicodeAttribute()
    entity = UnicodeAttribute()  # storage name of the linked record type (CUSTOMER, OBJ_AD_ORDER, APPLICATION, APPROVAL)
    record_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # attachment | use
    name = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
