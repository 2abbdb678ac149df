"""The CRM API: one Chalice app, the middleware, and the routes of every module in the
manifest (chalicelib/manifest.py). Nothing else."""
from chalice import Chalice

from chalicelib import manifest
from chalicelib.core import middleware

manifest.install()
app = Chalice(app_name="crm")
app.api.binary_types.append("application/pdf")  # printed records (GET …/{id}/pdf); API Gateway passes them as bytes
app.register_middleware(middleware.http, "http")

for blueprint in manifest.blueprints():
    app.register_blueprint(blueprint)
