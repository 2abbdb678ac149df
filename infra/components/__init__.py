"""The parts of the CRM stack, one module per concern; ``infra/stack.py`` composes them
(the layout is in ``infra/README.md``).

The parts are plain classes, not ``Construct`` subclasses: each creates its resources in the
stack's scope with the ids it always had. A logical ID is derived from the construct path, so
a construct level in between would rename every resource, and CloudFormation would replace the
table, the user pools and the search domain of a deployed stage.
"""
