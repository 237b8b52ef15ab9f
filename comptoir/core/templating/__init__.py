"""Faster versions of Django template tags the agent pages use by the hundred per page."""
