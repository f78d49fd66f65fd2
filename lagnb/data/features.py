"""Structural features of a Lagrangian, used to steer sampling and to describe datasets.

The BART-L paper found that field contents drawn uniformly rarely produce some structures
(scalar trilinears in ~2 % of Lagrangians, total singlets in ~1 %), so a model trained on them
sees too few examples; its "important-feature-based" sampler raised these fractions.  The
features here are read off the exact Lagrangian of :func:`lagnb.physics.engine.lagrangian`:

* ``trilinear``: some scalar trilinear φ_a φ_b φ_c (with conjugates) is gauge invariant;
* ``singlet``: some field is a total gauge singlet (1, 1, 0);
* ``majorana``: some fermion has a Majorana mass ψψ (two identical left-handed spinors);
* ``yukawa``: some Yukawa coupling φ ψ_a ψ_b exists;
* ``multi_yukawa``: Yukawa couplings of two or more different monomials exist (the SM's up-
  and down-type quark and lepton Yukawas, which share the Higgs doublet);
* ``fermion``: the content has at least one Weyl fermion;
* ``multi_quartic``: some product of four scalar objects has two or more independent
  contractions (e.g. (φ†φ)(φ†φ) for an SU(2) triplet, or two doublets), so the quartic
  sector is not just one coupling per monomial.

Every feature is *monotone*: adding fields never removes it (the terms of a sub-content are
terms of the whole content), which the enriched sampler relies on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from lagnb.physics.terms import Lagrangian

FEATURES: tuple[str, ...] = (
    "trilinear",
    "singlet",
    "majorana",
    "yukawa",
    "fermion",
    "multi_quartic",
    "multi_yukawa",
)
"""Feature names, in the order of the dataset's ``has_<feature>`` columns."""

FEATURE_COLUMNS: tuple[str, ...] = tuple(f"has_{name}" for name in FEATURES)
"""Boolean dataset columns, one per feature."""


@dataclass(frozen=True)
class Features:
    """Which structural features a Lagrangian has (see the module docstring)."""

    trilinear: bool
    singlet: bool
    majorana: bool
    yukawa: bool
    fermion: bool
    multi_quartic: bool
    multi_yukawa: bool

    def as_columns(self) -> dict[str, bool]:
        """``{"has_trilinear": …, …}``: the dataset's boolean columns."""
        return {f"has_{k}": v for k, v in asdict(self).items()}

    def present(self) -> tuple[str, ...]:
        """Names of the features that are present."""
        return tuple(k for k, v in asdict(self).items() if v)


def has_majorana(lag: Lagrangian) -> bool:
    """A fermion mass term ψψ whose two objects are the same spinor (a Majorana mass)."""
    for term in lag.by_kind("mass"):
        mono = term.monomial
        if len(mono) == 2 and mono[0] == mono[1] and lag.fields[mono[0][0]].is_fermion:
            return True
    return False


def has_multi_quartic(lag: Lagrangian) -> bool:
    """Some quartic monomial carries two or more independent terms (contractions)."""
    counts = Counter(term.monomial for term in lag.by_kind("quartic"))
    return any(c >= 2 for c in counts.values())


def has_multi_yukawa(lag: Lagrangian) -> bool:
    """Yukawa terms of two or more different field monomials."""
    return len({term.monomial for term in lag.by_kind("yukawa")}) >= 2


def features(lag: Lagrangian) -> Features:
    """The structural features of a Lagrangian (exact: read from its terms)."""
    kinds = {t.kind for t in lag.terms}
    return Features(
        trilinear="trilinear" in kinds,
        singlet=any(f.is_singlet for f in lag.fields),
        majorana=has_majorana(lag),
        yukawa="yukawa" in kinds,
        fermion=any(f.is_fermion for f in lag.fields),
        multi_quartic=has_multi_quartic(lag),
        multi_yukawa=has_multi_yukawa(lag),
    )


def has_feature(lag: Lagrangian, name: str) -> bool:
    """Whether ``lag`` has the feature ``name`` (one of :data:`FEATURES`)."""
    if name not in FEATURES:
        from lagnb.errors import LagnbError

        raise LagnbError(f"unknown feature {name!r}; expected one of {', '.join(FEATURES)}")
    return bool(getattr(features(lag), name))
