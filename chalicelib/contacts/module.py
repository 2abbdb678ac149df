"""Contacts in the module manifest."""
from __future__ import annotations

from ..core.modules import Module
from .entity import CONTACT

MODULE = Module(name="contacts", label=("联系人", "Contacts"), entities=(CONTACT,),
                notifications=("contacts.contact.transferred",))
