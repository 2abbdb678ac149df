"""The search-roles custom resource handler (see handler.py); deployed as its own Lambda asset."""
