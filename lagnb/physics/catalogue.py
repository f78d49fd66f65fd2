"""Named benchmark field lists: physics models a BART-L model should get right.

Hypercharge convention Q = T3 + Y/2 (as in the BART-L data): Higgs H ~ (1, 2, 1),
Q ~ (3, 2, 1/3) left-handed, u ~ (3, 1, 4/3) right-handed, d ~ (3, 1, −2/3) right-handed,
L ~ (1, 2, −1) left-handed, e ~ (1, 1, −2) right-handed.  One generation throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

from lagnb.physics.fields import Field


def _sm() -> list[Field]:
    return [
        Field.left(3, 2, "1/3", "Q"),
        Field.right(3, 1, "4/3", "u"),
        Field.right(3, 1, "-2/3", "d"),
        Field.left(1, 2, -1, "L"),
        Field.right(1, 1, -2, "e"),
        Field.scalar(1, 2, 1, "H"),
    ]


@dataclass(frozen=True)
class Benchmark:
    """A named field list with a one-line description of the physics."""

    name: str
    description: str
    fields: tuple[Field, ...]


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(
            "sm_leptons_higgs",
            "SM lepton sector + Higgs: L (1,2,-1) L, e (1,1,-2) R, H (1,2,1)",
            (Field.left(1, 2, -1, "L"), Field.right(1, 1, -2, "e"), Field.scalar(1, 2, 1, "H")),
        ),
        Benchmark("sm", "Standard Model, one generation", tuple(_sm())),
        Benchmark(
            "sm_leptoquark_s1",
            "SM + scalar leptoquark S1 ~ (3bar, 1, 2/3)",
            (*_sm(), Field.scalar(-3, 1, "2/3", "S_1")),
        ),
        Benchmark(
            "rpv_llec",
            "RPV-MSSM LLē content: two lepton doublets L (1,2,-1) and e^c (1,1,2), left-handed "
            "Weyl fermions only. LLē is a superpotential term: with fermions alone (no "
            "sleptons) it is not a Lorentz scalar, so only kinetic terms remain — a model must "
            "not invent an LLē term",
            (
                Field.left(1, 2, -1, "L_1"),
                Field.left(1, 2, -1, "L_2"),
                Field.left(1, 1, 2, "e^c"),
            ),
        ),
        Benchmark(
            "2hdm",
            "two Higgs doublets H1, H2 ~ (1,2,1)",
            (Field.scalar(1, 2, 1, "H_1"), Field.scalar(1, 2, 1, "H_2")),
        ),
        Benchmark(
            "sm_singlet",
            "SM + complex scalar singlet S ~ (1,1,0)",
            (*_sm(), Field.scalar(1, 1, 0, "S")),
        ),
        Benchmark(
            "sm_triplet",
            "SM + scalar triplet Δ ~ (1,3,2) (type-II seesaw)",
            (*_sm(), Field.scalar(1, 3, 2, r"\Delta")),
        ),
    )
}
"""The benchmark sets by name."""
