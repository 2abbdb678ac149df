"""The CRM's AWS CDK app: one stack per stage (see `infra/app.py`, `infra/stack.py` and `infra/components/`)."""
