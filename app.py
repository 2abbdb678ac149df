"""The CRM API: one Chalice app, the middleware, and one Blueprint per module."""
from chalice import Chalice

from chalicelib.approvals.api import bp as approvals_bp
from chalicelib.audit.api import bp as audit_bp
from chalicelib.core import middleware
from chalicelib.customers.api import bp as customers_bp
from chalicelib.dictionaries.api import bp as dictionaries_bp
from chalicelib.fields.api import bp as fields_bp
from chalicelib.forms.api import bp as forms_bp
from chalicelib.notifications.api import bp as notifications_bp
from chalicelib.numbering.api import bp as numbering_bp
from chalicelib.org.api import bp as org_bp
from chalicelib.recyclebin.api import bp as recyclebin_bp
from chalicelib.reminders.api import bp as reminders_bp
from chalicelib.search.api import bp as search_bp
from chalicelib.system.api import bp as system_bp
from chalicelib.tenants.api import bp as tenants_bp

app = Chalice(app_name="crm")
app.register_middleware(middleware.http, "http")

for blueprint in (system_bp, tenants_bp, org_bp, dictionaries_bp, numbering_bp, customers_bp, audit_bp, recyclebin_bp,
                  notifications_bp, reminders_bp, fields_bp, search_bp, approvals_bp, forms_bp):
    app.register_blueprint(blueprint)
