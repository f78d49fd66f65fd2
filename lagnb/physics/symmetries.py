"""Abelian symmetries beyond SU(3)×SU(2)×U(1)_Y: a gauged U(1)′, a global U(1), a Z_N.

A model declares each extra symmetry once (a :class:`Symmetry`, named) and every field carries
its charge under it (zero when not given):

* **gauged U(1)′** (``kind="gauged"``): rational charges that must add up to zero in every
  term; it has a gauge boson X′ with its own kinetic term −¼ X′_μν X′^μν, appears in the
  covariant derivative of every charged field, and mixes kinetically with the hypercharge boson
  (and with any other gauged U(1)′) through −(ε/2) B_μν X′^μν, which is gauge invariant and of
  dimension 4 — a renormalizable term of its own.  The charge normalisation is the user's (only
  sums matter for which terms exist).
* **global U(1)** (``kind="global"``, e.g. lepton number): rational charges adding up to zero;
  no gauge boson.
* **Z_N** (``kind="Z"``, ``order=N``): integer charges q taken mod N (Z2: 0 even, 1 odd); a
  term is allowed when its charges add up to 0 mod N.

A field's conjugate carries the opposite charges (−q mod N for Z_N).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lagnb.errors import FieldError, LagnbError

SYMMETRY_KINDS = ("gauged", "global", "Z")
"""The kinds of extra symmetry: a gauged U(1)′, a global U(1), a discrete Z_N."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-']{0,31}")


@dataclass(frozen=True, order=True)
class Symmetry:
    """An extra Abelian symmetry of a model.

    Args:
        name: a short identifier (letters, digits, ``_``, ``-``, ``'``; starting with a letter),
            e.g. ``"BL"``, ``"B-L"``, ``"Z2"``, ``"Lepton"``.  ``"Y"`` is hypercharge's.
        kind: ``"gauged"`` (U(1)′), ``"global"`` (U(1)) or ``"Z"`` (Z_N).
        order: N of a Z_N (at least 2); 0 for a U(1).
    """

    name: str
    kind: str = "gauged"
    order: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise FieldError(
                f"symmetry name {self.name!r}: use a letter followed by letters, digits, "
                "_ - or ' (at most 32 characters)"
            )
        if self.name in ("Y", "SU3", "SU2", "U1"):
            raise FieldError(f"symmetry name {self.name!r} is taken by the Standard Model groups")
        if self.kind not in SYMMETRY_KINDS:
            raise FieldError(
                f"symmetry {self.name!r}: unknown kind {self.kind!r}; expected one of "
                "gauged (U(1)′), global (U(1)), Z (Z_N)"
            )
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise FieldError(f"symmetry {self.name!r}: order must be an integer")
        if self.kind == "Z" and self.order < 2:
            raise FieldError(f"symmetry {self.name!r}: Z_N needs N ≥ 2, got {self.order}")
        if self.kind != "Z" and self.order != 0:
            raise FieldError(f"symmetry {self.name!r}: only a Z_N has an order")

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def gauged_u1(cls, name: str) -> Symmetry:
        """A gauged U(1)′ with its own gauge boson."""
        return cls(name, "gauged")

    @classmethod
    def global_u1(cls, name: str) -> Symmetry:
        """A global U(1) (no gauge boson), e.g. lepton number."""
        return cls(name, "global")

    @classmethod
    def z(cls, name: str, n: int) -> Symmetry:
        """A Z_N with integer charges mod N (Z2 parity: 0 even, 1 odd)."""
        return cls(name, "Z", n)

    @property
    def is_gauged(self) -> bool:
        return self.kind == "gauged"

    @property
    def is_discrete(self) -> bool:
        return self.kind == "Z"

    @property
    def group(self) -> str:
        """The gauge-group label of a gauged U(1)′ in terms and tokens: ``U1:<name>``."""
        return f"U1:{self.name}"

    def describe(self) -> str:
        """``U(1) BL (gauged)``, ``U(1) L (global)``, ``Z_2 Z2``: kind and name, for messages."""
        if self.kind == "Z":
            return f"Z_{self.order} {self.name}"
        return f"U(1) {self.name} ({self.kind})"


def declared_symmetries(fields: Iterable[Any]) -> tuple[Symmetry, ...]:
    """The extra symmetries that fields (anything with ``charges``: (Symmetry, q) pairs) are
    charged under, sorted."""
    return tuple(sorted({s for f in fields for s, _ in f.charges}))


def symmetry_json(sym: Symmetry) -> dict[str, Any]:
    """A symmetry as data: ``name``, ``kind`` (gauged, global, Z) and, for a Z_N, ``order``."""
    out: dict[str, Any] = {"name": sym.name, "kind": sym.kind}
    if sym.is_discrete:
        out["order"] = sym.order
    return out


def declared_symmetry(
    symmetries: Mapping[str, Symmetry],
    name: str,
    where: str,
    fix: str,
    error: type[LagnbError] = FieldError,
) -> Symmetry:
    """The symmetry a model declared as ``name``; a charge under an undeclared one is a
    one-line ``error`` naming it, the declared ones and ``fix`` (where to declare it)."""
    if name in symmetries:
        return symmetries[name]
    listed = ", ".join(symmetries) or "none"
    raise error(f"{where}: charge under undeclared symmetry {name!r} (declared: {listed}); {fix}")
