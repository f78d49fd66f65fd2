"""Errors raised for bad user input: each names the field, token or parameter at fault."""


class LagnbError(ValueError):
    """Base class for every error lagnb raises on bad input."""


class FieldError(LagnbError):
    """A field (or field list) is not valid: unknown representation, helicity on a scalar, …"""


class TokenError(LagnbError):
    """A token string does not follow the BART-L grammar."""
