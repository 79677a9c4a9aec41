from __future__ import annotations


class CustomerNotFound(LookupError):
    """No such customer, or not within the asking user's scope (the two look the same)."""


class ValidationError(ValueError):
    """Input rejected; ``errors`` maps each offending field to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class PermissionDenied(PermissionError):
    """The user's role does not allow this action."""
