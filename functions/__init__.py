"""Lambda handlers that are not HTTP routes; each builds the same services from chalicelib."""
