"""`python -m bench`: the budgets of ARCHITECTURE.md §10 as measured figures.

The benchmark starts its own local stack (a moto server on a free loopback port, the
resources and the demo company), measures cold start, DynamoDB round trips per endpoint,
the API's overhead over the raw storage call, approvals on Step Functions, list-page cost
at two table sizes and search, then prints a report and writes `bench/results.json` and
`bench/results.md`.

Modules:
- `stack`     the local stack the benchmark runs against (started and stopped here).
- `calls`     a recorder of every AWS API call the process makes, with capacity estimates.
- `stats`     medians, percentiles and formatting.
- `coldstart` fresh-interpreter measurements of `import app` and the first request.
- `endpoints` round trips, operations and estimated capacity per endpoint.
- `lists`     list-page cost at ~1k and ~10k customers.
- `overhead`  API wall time over the raw GetItem it wraps.
- `approvals` approvals through the API: Step Functions transitions, wall time, round trips.
- `report`    the text report, the markdown tables and the JSON document.
"""
