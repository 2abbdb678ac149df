"""Search, lists, filters and facets (ARCHITECTURE.md §4): one port, two engines."""
