"""lagnb: Lagrangians from fields and symmetries — an exact engine and a BART model.

The engine and checker are importable without torch; the model layer (``lagnb.ml.model``,
``lagnb.ml.train``, ``lagnb.ml.generate``, …) imports torch and transformers on first use.
"""

from lagnb.errors import FieldError, LagnbError, TokenError
from lagnb.physics.check import TermCheck, check_lagrangian, check_term
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field, fields_tokens, parse_fields
from lagnb.physics.model import Model, parse_model, read_model
from lagnb.physics.symmetries import Symmetry
from lagnb.physics.terms import Lagrangian, Term
from lagnb.physics.tokens import VOCABULARY, parse_term, split_terms

__all__ = [
    "VOCABULARY",
    "Field",
    "FieldError",
    "LagnbError",
    "Lagrangian",
    "Model",
    "Symmetry",
    "Term",
    "TermCheck",
    "TokenError",
    "check_lagrangian",
    "check_term",
    "fields_tokens",
    "lagrangian",
    "parse_fields",
    "parse_model",
    "parse_term",
    "read_model",
    "split_terms",
]

__version__ = "0.1.0"
