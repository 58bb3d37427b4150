"""The one error type for a request that breaks a business rule.

Store functions raise it with the field to correct and a Chinese reason; the API turns it into a
400 that names the field, the pages show the reason beside that field.
"""
from __future__ import annotations


class RuleError(ValueError):
    """A request that breaks a rule; `field` names what to correct, the message says why (Chinese)."""

    def __init__(self, field: str, message: str, code: str = "invalid_argument", status: int = 400):
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.code, self.status = field, message, code, status


class NotFound(RuleError):
    """A record that does not exist, or that the asker may not see (the two look the same)."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message, code="not_found", status=404)


class Conflict(RuleError):
    """A request that is well formed but comes at the wrong moment (a workflow step out of turn, a duplicate)."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message, code="conflict", status=409)
