"""Confirming a tenant's progress against the TCCC cloud API with a read-only key it gave us."""
