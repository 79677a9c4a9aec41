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


class ProductNotFound(LookupError):
    """No such installed product, or its owner is outside the asking user's scope."""


class AddressNotFound(LookupError):
    """No such address, or its customer is outside the asking user's scope."""


class ContactNotFound(LookupError):
    """No such contact, or its customer is outside the asking user's scope."""
