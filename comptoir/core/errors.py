"""Domain errors raised by services; views and the API turn them into clear answers."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses, with a message fit for the user."""


class NotAllowed(DomainError):
    """The acting user lacks the right for this action."""


class NotFound(DomainError):
    """The object does not exist for the acting user (other tenants' objects included)."""


class Conflict(DomainError):
    """The request clashes with existing data (an identity another contact already has)."""
