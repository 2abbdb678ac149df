"""The CRM's AWS CDK app: one stack per stage (see `infra/app.py` and `infra/stack.py`)."""
