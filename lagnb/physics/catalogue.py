"""The catalogue of named physics models: field lists a physicist starts from and a BART-L model
should get right (the evaluation's benchmarks, the autocomplete app's model menu, the tests).

    from lagnb.physics import catalogue
    catalogue.get("sm").fields        # one generation of the Standard Model
    for name, model in catalogue.CATALOGUE.items(): ...

Hypercharge convention Q = T3 + Y/2 (as in the BART-L data): Higgs H ~ (1, 2, 1),
Q ~ (3, 2, 1/3) left-handed, u ~ (3, 1, 4/3) right-handed, d ~ (3, 1, −2/3) right-handed,
L ~ (1, 2, −1) left-handed, e ~ (1, 1, −2) right-handed.  One generation throughout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from lagnb.errors import LagnbError
from lagnb.physics.fields import Field

STANDARD_MODEL: tuple[Field, ...] = (
    Field.left(3, 2, "1/3", "Q"),
    Field.right(3, 1, "4/3", "u"),
    Field.right(3, 1, "-2/3", "d"),
    Field.left(1, 2, -1, "L"),
    Field.right(1, 1, -2, "e"),
    Field.scalar(1, 2, 1, "H"),
)
"""One generation of the Standard Model with Weyl fermions (the catalogue's ``"sm"``)."""


@dataclass(frozen=True)
class NamedModel:
    """A named field list with a one-line description of the physics."""

    name: str
    description: str
    fields: tuple[Field, ...]


CATALOGUE: Mapping[str, NamedModel] = MappingProxyType(
    {
        m.name: m
        for m in (
            NamedModel(
                "sm_leptons_higgs",
                "SM lepton sector + Higgs: L (1,2,-1) L, e (1,1,-2) R, H (1,2,1)",
                (STANDARD_MODEL[3], STANDARD_MODEL[4], STANDARD_MODEL[5]),
            ),
            NamedModel("sm", "Standard Model, one generation", STANDARD_MODEL),
            NamedModel(
                "sm_leptoquark_s1",
                "SM + scalar leptoquark S1 ~ (3bar, 1, 2/3)",
                (*STANDARD_MODEL, Field.scalar(-3, 1, "2/3", "S_1")),
            ),
            NamedModel(
                "rpv_llec",
                "RPV-MSSM LLē content: two lepton doublets L (1,2,-1) and e^c (1,1,2), "
                "left-handed Weyl fermions only. LLē is a superpotential term: with fermions "
                "alone (no sleptons) it is not a Lorentz scalar, so only kinetic terms remain — "
                "a model must not invent an LLē term",
                (
                    Field.left(1, 2, -1, "L_1"),
                    Field.left(1, 2, -1, "L_2"),
                    Field.left(1, 1, 2, "e^c"),
                ),
            ),
            NamedModel(
                "2hdm",
                "two Higgs doublets H1, H2 ~ (1,2,1)",
                (Field.scalar(1, 2, 1, "H_1"), Field.scalar(1, 2, 1, "H_2")),
            ),
            NamedModel(
                "sm_singlet",
                "SM + complex scalar singlet S ~ (1,1,0)",
                (*STANDARD_MODEL, Field.scalar(1, 1, 0, "S")),
            ),
            NamedModel(
                "sm_triplet",
                "SM + scalar triplet Δ ~ (1,3,2) (type-II seesaw)",
                (*STANDARD_MODEL, Field.scalar(1, 3, 2, r"\Delta")),
            ),
        )
    }
)
"""The named models by name (read-only), in a fixed order."""


def get(name: str) -> NamedModel:
    """The named model ``name``; a :class:`LagnbError` listing the catalogue's names if there is
    no such model."""
    try:
        return CATALOGUE[name]
    except (KeyError, TypeError):
        raise LagnbError(
            f"unknown model {name!r}: the catalogue has {', '.join(CATALOGUE)}"
        ) from None
