"""lagnb: Lagrangians from fields and symmetries — an exact engine and a BART model.

The engine and checker are importable without torch; the model layer (``lagnb.model``,
``lagnb.train``, ``lagnb.generate``, …) imports torch and transformers on first use.
"""

from .check import TermCheck, check_lagrangian, check_term
from .engine import lagrangian
from .errors import FieldError, LagnbError, TokenError
from .fields import Field, fields_tokens, parse_fields
from .terms import Lagrangian, Term
from .tokens import VOCABULARY, parse_term, split_terms

__all__ = [
    "VOCABULARY",
    "Field",
    "FieldError",
    "LagnbError",
    "Lagrangian",
    "Term",
    "TermCheck",
    "TokenError",
    "check_lagrangian",
    "check_term",
    "fields_tokens",
    "lagrangian",
    "parse_fields",
    "parse_term",
    "split_terms",
]

__version__ = "0.1.0"
