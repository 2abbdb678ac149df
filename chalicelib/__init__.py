"""Everything the API Lambda needs: core, db, ports and one package per business module."""
