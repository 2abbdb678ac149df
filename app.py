"""The CRM API: one Chalice app, the middleware, and the routes of every module in the
manifest (chalicelib/manifest.py). Nothing else."""
from chalice import Chalice

from chalicelib import manifest
from chalicelib.core import middleware, snapstart

manifest.install()
snapstart.register()  # SnapStart restore hooks (only in the Lambda runtime)
app = Chalice(app_name="crm")
app.api.binary_types.extend(["application/pdf", "image/png"])  # printed records, dashboard charts: API Gateway passes bytes
app.api.binary_types.extend(["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv"])  # exports
app.register_middleware(middleware.http, "http")

for blueprint in manifest.blueprints():
    app.register_blueprint(blueprint)
