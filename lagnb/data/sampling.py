"""Random field contents for training data: distributions, canonical contents, and strategies.

A *field content* is a multiset of matter fields (complex scalars and Weyl fermions with
SU(3)×SU(2)×U(1) quantum numbers); a permutation of the fields is the same physics, so every
content has a canonical order (:func:`canonical_fields`) and a canonical string
(:func:`content_key`) used for de-duplication and for splitting data disjointly.

Two strategies draw contents:

* ``uniform``: the number of fields, then each field's spin/helicity, SU(3) and SU(2)
  representations and hypercharge, independently from a :class:`FieldDistribution`.  As in the
  BART-L paper, interaction structures that need the hypercharges to add up to zero (scalar
  trilinears, Yukawas) and total singlets are then rare.
* ``enriched``: candidates are drawn either uniformly or around a *seed*: a small set of fields
  built so that one feature (see :mod:`lagnb.data.features`) is present — the last seed field's
  hypercharge closes a random charge combination and its representations are chosen with the
  right SU(3) triality and SU(2) index parity, and the seed is checked with the exact engine.
  The rest of the content is drawn uniformly.  A :class:`Quotas` tracker then accepts
  candidates so that at least the target fraction of the final set has each chosen feature.

Everything here is pure and deterministic given a :class:`random.Random`; the dataset writer
(:mod:`lagnb.data.build`) seeds one generator per candidate so results do not depend on the number
of worker processes.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations_with_replacement
from typing import Any

from lagnb.data.features import FEATURES, features, has_multi_yukawa
from lagnb.errors import LagnbError
from lagnb.physics.catalogue import CATALOGUE, STANDARD_MODEL
from lagnb.physics.engine import (
    gauge_kinetic_terms,
    kinetic_term,
    lagrangian,
    mass_terms,
    monomial_terms,
)
from lagnb.physics.fields import HALF, Field, fields_tokens
from lagnb.physics.groups import SU2_REPS, SU3_REPS, su2_slots, su3_slots

SPINS: tuple[str, ...] = ("scalar", "left", "right")
"""Field kinds: complex scalar, left-handed (helicity −1/2) and right-handed Weyl fermion."""

STRATEGIES: tuple[str, ...] = ("uniform", "enriched")

DEFAULT_HYPERCHARGES: tuple[str, ...] = (
    "0", "1/3", "-1/3", "2/3", "-2/3", "1", "-1", "4/3", "-4/3", "1/2", "-1/2", "2", "-2",
)  # fmt: skip
"""Hypercharges drawn by default (Q = T3 + Y/2): those of the SM fields and their negatives
(quark doublet 1/3, u_R 4/3, d_R −2/3, Higgs 1, lepton doublet −1, e_R −2), 0, and ±1/2.
All have one-digit numerators and denominators, like the data of the released BART-L model."""

REP_MIXES: dict[str, dict[str, dict[int, float]]] = {
    "default": {
        "su3": {1: 4.0, 3: 2.0, -3: 2.0, 6: 0.5, -6: 0.5, 8: 1.0},
        "su2": {1: 4.0, 2: 3.0, 3: 2.0, 4: 0.5},
    },
    "uniform": {
        "su3": {rep: 1.0 for rep in SU3_REPS},
        "su2": {rep: 1.0 for rep in SU2_REPS},
    },
    "bart-l": {
        "su3": {1: 1.0, 3: 1.0, -3: 1.0},
        "su2": {1: 1.0, 2: 1.0, 3: 1.0},
    },
}
"""Named representation mixes (the ``reps`` parameter): weights of the SU(3) and SU(2)
representations a field is drawn with.  ``default``: every representation the engine supports,
small ones more often (large ones give very long Lagrangians); ``uniform``: all supported ones
equally; ``bart-l``: only those the released BART-L model knows (1, 3, 3̄ × 1, 2, 3)."""

DEFAULT_TARGETS: dict[str, float] = {
    "trilinear": 0.15,
    "singlet": 0.10,
    "majorana": 0.10,
    "yukawa": 0.20,
    "multi_quartic": 0.20,
}
"""Default minimum fractions for the ``enriched`` strategy (the BART-L paper's sampler reached
~9 % trilinears and ~5 % singlets).  They stay reachable with short targets: with 1–3 fields,
the BART-L representations and at most 384 target tokens, distinct contents with a trilinear
run out at ~17 %."""

_TRIALITY = {1: 0, 3: 1, -3: 2, 6: 2, -6: 1, 8: 0}


def _normalise_weights(
    values: Mapping[Any, float] | Sequence[Any] | None,
    default: Mapping[Any, float] | Sequence[Any],
    convert: Any,
    what: str,
) -> tuple[tuple[Any, float], ...]:
    """(value, weight) pairs from a mapping value→weight or a sequence (equal weights)."""
    if values is None:
        values = default
    items = values.items() if isinstance(values, Mapping) else ((v, 1.0) for v in values)
    out: dict[Any, float] = {}
    for key, weight in items:
        try:
            k = convert(key)
        except (LagnbError, ValueError, TypeError, ZeroDivisionError) as exc:
            raise LagnbError(f"{what}: bad value {key!r} ({exc})") from None
        try:
            w = float(weight)
        except (TypeError, ValueError):
            raise LagnbError(f"{what}: weight of {key!r} is not a number: {weight!r}") from None
        if not w >= 0 or math.isinf(w):
            raise LagnbError(f"{what}: weight of {key!r} must be finite and >= 0, got {weight!r}")
        out[k] = out.get(k, 0.0) + w
    if not out or sum(out.values()) <= 0:
        raise LagnbError(f"{what}: needs at least one value with a positive weight")
    return tuple(out.items())


def _su3(key: Any) -> int:
    rep = int(key)
    if rep not in SU3_REPS or str(rep) != str(key).strip():
        raise LagnbError(f"unsupported SU(3) representation {key!r} (use 1, 3, -3, 6, -6, 8)")
    return rep


def _su2(key: Any) -> int:
    rep = int(key)
    if rep not in SU2_REPS or str(rep) != str(key).strip():
        raise LagnbError(f"unsupported SU(2) representation {key!r} (use 1, 2, 3, 4)")
    return rep


def _spin(key: Any) -> str:
    if key not in SPINS:
        raise LagnbError(f"unknown spin kind {key!r} (use {', '.join(SPINS)})")
    return str(key)


def _fraction(key: Any) -> Fraction:
    if isinstance(key, float):
        return Fraction(key).limit_denominator(1000)
    return Fraction(str(key).replace(" ", ""))


def pick_weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    """One value of (value, weight) pairs, drawn with probability ∝ weight."""
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


@dataclass(frozen=True)
class FieldDistribution:
    """How random field contents are drawn.

    Attributes:
        min_fields, max_fields: number of fields, inclusive range.
        n_fields: (number, weight) pairs; by default uniform over the range.
        spins: (``"scalar" | "left" | "right"``, weight) pairs for each field.
        su3, su2: (representation, weight) pairs.
        hypercharges: (Fraction, weight) pairs.
        p_scalars_only: probability that a uniformly drawn content has scalars only (the
            BART-L data has ~40 % such Lagrangians); otherwise each field's spin is drawn
            from ``spins``.
    """

    min_fields: int = 1
    max_fields: int = 6
    n_fields: tuple[tuple[int, float], ...] = ()
    spins: tuple[tuple[str, float], ...] = (("scalar", 1.0), ("left", 1.0), ("right", 1.0))
    su3: tuple[tuple[int, float], ...] = tuple(REP_MIXES["default"]["su3"].items())
    su2: tuple[tuple[int, float], ...] = tuple(REP_MIXES["default"]["su2"].items())
    hypercharges: tuple[tuple[Fraction, float], ...] = tuple(
        (Fraction(y), 1.0) for y in DEFAULT_HYPERCHARGES
    )
    p_scalars_only: float = 0.0
    _y_set: frozenset[Fraction] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.min_fields, int) and isinstance(self.max_fields, int)):
            raise LagnbError("min_fields and max_fields must be integers")
        if not 1 <= self.min_fields <= self.max_fields:
            raise LagnbError(
                f"need 1 <= min_fields <= max_fields, got min_fields={self.min_fields}, "
                f"max_fields={self.max_fields}"
            )
        if not self.n_fields:
            span = range(self.min_fields, self.max_fields + 1)
            object.__setattr__(self, "n_fields", tuple((n, 1.0) for n in span))
        for n, _ in self.n_fields:
            if not self.min_fields <= n <= self.max_fields:
                raise LagnbError(f"n_fields_weights: {n} fields is outside min/max_fields")
        if not 0.0 <= self.p_scalars_only <= 1.0:
            raise LagnbError(f"p_scalars_only must be in [0, 1], got {self.p_scalars_only}")
        object.__setattr__(self, "_y_set", frozenset(y for y, w in self.hypercharges if w > 0))

    @classmethod
    def make(
        cls,
        *,
        min_fields: int = 1,
        max_fields: int = 6,
        n_fields_weights: Mapping[int, float] | Sequence[int] | None = None,
        spin_weights: Mapping[str, float] | Sequence[str] | None = None,
        reps: str = "default",
        su3_weights: Mapping[int, float] | Sequence[int] | None = None,
        su2_weights: Mapping[int, float] | Sequence[int] | None = None,
        hypercharges: Mapping[Any, float] | Sequence[Any] | None = None,
        p_scalars_only: float = 0.0,
    ) -> FieldDistribution:
        """A distribution from user-facing parameters (mappings value → weight, or lists).

        ``reps`` names a mix of :data:`REP_MIXES`; ``su3_weights``/``su2_weights``
        override it.  Raises :class:`LagnbError` naming the parameter at fault.
        """
        if reps not in REP_MIXES:
            raise LagnbError(
                f"reps: unknown representation mix {reps!r} (use {', '.join(REP_MIXES)})"
            )
        mix = REP_MIXES[reps]
        n_fields = ()
        if n_fields_weights is not None:
            n_fields = _normalise_weights(n_fields_weights, {}, int, "n_fields_weights")
        return cls(
            min_fields=min_fields,
            max_fields=max_fields,
            n_fields=n_fields,
            spins=_normalise_weights(spin_weights, SPINS, _spin, "spin_weights"),
            su3=_normalise_weights(su3_weights, mix["su3"], _su3, "su3_weights"),
            su2=_normalise_weights(su2_weights, mix["su2"], _su2, "su2_weights"),
            hypercharges=_normalise_weights(
                hypercharges, DEFAULT_HYPERCHARGES, _fraction, "hypercharges"
            ),
            p_scalars_only=float(p_scalars_only),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able description (for ``meta.json``)."""
        return {
            "min_fields": self.min_fields,
            "max_fields": self.max_fields,
            "n_fields": {str(n): w for n, w in self.n_fields},
            "spins": dict(self.spins),
            "su3": {str(r): w for r, w in self.su3},
            "su2": {str(r): w for r, w in self.su2},
            "hypercharges": {str(y): w for y, w in self.hypercharges},
            "p_scalars_only": self.p_scalars_only,
        }

    # -- drawing --------------------------------------------------------------------------------
    def allows_y(self, y: Fraction) -> bool:
        return y in self._y_set

    def draw_n(self, rng: random.Random) -> int:
        """A number of fields."""
        return int(pick_weighted(rng, self.n_fields))

    def draw_field(
        self,
        rng: random.Random,
        spin: str | None = None,
        su3: int | None = None,
        su2: int | None = None,
        y: Fraction | None = None,
    ) -> Field:
        """One field; any quantum number given is kept, the others are drawn."""
        spin = spin or pick_weighted(rng, self.spins)
        su3 = su3 if su3 is not None else pick_weighted(rng, self.su3)
        su2 = su2 if su2 is not None else pick_weighted(rng, self.su2)
        y = y if y is not None else pick_weighted(rng, self.hypercharges)
        if spin == "scalar":
            return Field(Fraction(0), su3, su2, y, None)
        return Field(HALF, su3, su2, y, -HALF if spin == "left" else HALF)

    def draw_content(self, rng: random.Random, n: int | None = None) -> tuple[Field, ...]:
        """A uniformly drawn content of ``n`` fields (``n`` drawn when None)."""
        n = self.draw_n(rng) if n is None else n
        if self.p_scalars_only and rng.random() < self.p_scalars_only:
            return tuple(self.draw_field(rng, spin="scalar") for _ in range(n))
        return tuple(self.draw_field(rng) for _ in range(n))

    def fermion_spins(self) -> tuple[tuple[str, float], ...]:
        return tuple((s, w) for s, w in self.spins if s != "scalar" and w > 0)

    def has_scalars(self) -> bool:
        return any(s == "scalar" and w > 0 for s, w in self.spins)


# -- canonical contents ---------------------------------------------------------------------------
def named_content_keys() -> frozenset[str]:
    """The canonical content keys of the catalogue's named models, which sampled datasets leave
    out (they are the held-out examples of every evaluation)."""
    return frozenset(content_key(m.fields) for m in CATALOGUE.values())


_Q, _U, _D, _L, _E, _H = STANDARD_MODEL
SM_SECTORS: dict[str, tuple[Field, ...]] = {
    "leptons": (_L, _E, _H),
    "up quarks": (_Q, _U, _H),
    "down quarks": (_Q, _D, _H),
    "quarks": (_Q, _U, _D, _H),
}
"""Sectors of one SM generation with the Higgs, each closed under its Yukawa couplings."""


def sm_sector_contents(
    n: int, seed: int = 0, reps: str = "bart-l"
) -> list[tuple[str, tuple[Field, ...]]]:
    """``n`` distinct contents "SM sector + one BSM field": the sectors of :data:`SM_SECTORS`
    in turn, each with one field drawn from the ``reps`` mix and the default hypercharges
    (the BART-L domain by default), fields in random order; no named model's content.
    Returns (sector name, fields) pairs; deterministic in ``seed``."""
    dist = FieldDistribution.make(min_fields=1, max_fields=1, reps=reps)
    rng = random.Random(seed)
    seen = set(named_content_keys())
    out: list[tuple[str, tuple[Field, ...]]] = []
    names = list(SM_SECTORS)
    misses = 0  # draws in a row that gave nothing new: the sector's fields are used up
    while len(out) < n and misses < 5000:
        name = names[len(out) % len(names)]
        fields = [*SM_SECTORS[name], dist.draw_field(rng)]
        key = content_key(fields)
        if key in seen:
            misses += 1
            continue
        misses = 0
        seen.add(key)
        rng.shuffle(fields)
        out.append((name, tuple(fields)))
    if len(out) < n:
        raise LagnbError(
            f"sectors: only {len(out)} distinct contents 'SM sector + one BSM field' were found "
            f"for n={n} (reps {reps!r}); ask for fewer"
        )
    return out


def field_sort_key(f: Field) -> tuple:
    """Sort key of a field: spin, helicity, SU(3), SU(2), hypercharge."""
    return (f.spin, f.helicity or 0, f.su3, f.su2, f.y)


def canonical_fields(fields: Iterable[Field]) -> tuple[Field, ...]:
    """The fields in canonical order (scalars first, then left-, then right-handed fermions)."""
    return tuple(sorted(fields, key=field_sort_key))


def content_key(fields: Iterable[Field]) -> str:
    """Canonical string of a field content: the same for every permutation of the fields.

    It is the BART-L input string of the canonically ordered fields without ``[SOS]``/``[EOS]``,
    so :func:`lagnb.physics.fields.parse_fields` reads it back.
    """
    return fields_tokens(canonical_fields(fields), specials=False)


# -- seeds: small contents with a given feature ---------------------------------------------------
Pattern = tuple[tuple[str, ...], tuple[int, ...]]
"""(kinds of the seed fields, number of objects each contributes to the monomial)."""

_PATTERNS: dict[str, tuple[Pattern, ...]] = {
    "trilinear": (
        (("scalar",), (3,)),
        (("scalar", "scalar"), (2, 1)),
        (("scalar", "scalar"), (1, 2)),
        (("scalar", "scalar", "scalar"), (1, 1, 1)),
    ),
    "multi_quartic": (
        (("scalar",), (4,)),
        (("scalar", "scalar"), (2, 2)),
        (("scalar", "scalar"), (1, 3)),
        (("scalar", "scalar", "scalar"), (1, 1, 2)),
    ),
    "yukawa": (
        (("fermion", "scalar"), (2, 1)),
        (("fermion", "fermion", "scalar"), (1, 1, 1)),
    ),
    "majorana": ((("fermion",), (2,)),),
    "fermion": ((("fermion",), (1,)),),
}


def _spin_name(f: Field) -> str:
    """``scalar``, ``left`` or ``right``: the spin entry of :data:`SPINS` that ``f`` has."""
    if f.is_scalar:
        return "scalar"
    return "left" if f.helicity == -HALF else "right"


def _seed_from_pattern(
    rng: random.Random,
    dist: FieldDistribution,
    pattern: Pattern,
    given: Sequence[Field] = (),
) -> tuple[tuple[Field, ...], tuple[tuple[int, bool], ...]] | None:
    """Fields for ``pattern`` whose last field is solved so that the monomial can be invariant:
    hypercharges add to zero, SU(3) triality is zero, and the number of SU(2) indices is even.
    Scalar objects are conjugated at random; fermion objects are left-handed spinors (a
    right-handed field enters conjugated).  The first ``len(given)`` fields are ``given``
    (their kinds must be the pattern's), the others drawn.  Returns (fields, sorted monomial),
    or None when no allowed value closes it."""
    kinds, mult = pattern
    ferm = dist.fermion_spins()
    if ("scalar" in kinds and not dist.has_scalars()) or ("fermion" in kinds and not ferm):
        return None
    spins = [_spin_name(f) for f in given] + [
        (pick_weighted(rng, ferm) if k == "fermion" else k) for k in kinds[len(given) :]
    ]
    objects: list[tuple[int, bool]] = []
    for i, (s, m) in enumerate(zip(spins, mult)):
        for _ in range(m):
            conj = rng.random() < 0.5 if s == "scalar" else s == "right"
            objects.append((i, conj))
    fields = [*given, *(dist.draw_field(rng, spin=s) for s in spins[len(given) : -1])]
    last = len(spins) - 1
    sign = {False: 1, True: -1}
    rest_y = sum(sign[c] * fields[i].y for i, c in objects if i != last)
    coeff = sum(sign[c] for i, c in objects if i == last)
    if coeff == 0:
        if rest_y != 0:
            return None
        y = pick_weighted(rng, dist.hypercharges)
    else:
        y = -Fraction(rest_y) / coeff
        if not dist.allows_y(y):
            return None
    rest_tri = sum(
        (-_TRIALITY[fields[i].su3] if c else _TRIALITY[fields[i].su3])
        for i, c in objects
        if i != last
    )
    n_last = sum(1 for i, _ in objects if i == last)
    n_last_conj = sum(1 for i, c in objects if i == last and c)
    su3_ok = [
        (r, w)
        for r, w in dist.su3
        if (rest_tri + _TRIALITY[r] * (n_last - 2 * n_last_conj)) % 3 == 0 and w > 0
    ]
    rest_su2 = sum(fields[i].su2 - 1 for i, _ in objects if i != last)
    su2_ok = [(r, w) for r, w in dist.su2 if (rest_su2 + (r - 1) * n_last) % 2 == 0 and w > 0]
    if not su3_ok or not su2_ok:
        return None
    fields.append(
        dist.draw_field(
            rng,
            spin=spins[last],
            su3=pick_weighted(rng, su3_ok),
            su2=pick_weighted(rng, su2_ok),
            y=y,
        )
    )
    return tuple(fields), tuple(sorted(objects))


_SEED_KIND = {"trilinear": "trilinear", "multi_quartic": "quartic", "yukawa": "yukawa"}


def _seed_has_feature(
    fields: tuple[Field, ...], mono: tuple[tuple[int, bool], ...], feature: str
) -> bool:
    """Whether the monomial built for ``feature`` has the invariants the feature needs (the
    engine's own basis for that one monomial: much cheaper than the whole Lagrangian)."""
    if feature == "fermion":
        return True
    kind = _SEED_KIND.get(feature, "mass")
    terms = monomial_terms(fields, mono, kind, "+")
    return len(terms) >= (2 if feature == "multi_quartic" else 1)


def seed_fields(
    rng: random.Random,
    dist: FieldDistribution,
    feature: str,
    max_size: int,
    tries: int = 64,
) -> tuple[Field, ...] | None:
    """A small content (at most ``max_size`` fields) whose exact Lagrangian has ``feature``.

    Every returned seed has been checked with the engine (the invariants of the monomial it
    was built for); since features are monotone, any content containing it has the feature.
    None if ``tries`` attempts all failed (for instance when the distribution cannot produce
    the feature at all).
    """
    if feature not in FEATURES:
        raise LagnbError(f"unknown feature {feature!r}; expected one of {', '.join(FEATURES)}")
    if feature == "singlet":
        ok = dist.allows_y(Fraction(0)) and any(r == 1 and w > 0 for r, w in dist.su3)
        ok = ok and any(r == 1 and w > 0 for r, w in dist.su2)
        return (dist.draw_field(rng, su3=1, su2=1, y=Fraction(0)),) if ok else None
    if feature == "multi_yukawa":
        return _multi_yukawa_seed(rng, dist, max_size, tries)
    patterns = [p for p in _PATTERNS[feature] if len(p[0]) <= max_size]
    if not patterns:
        return None
    for _ in range(tries):
        built = _seed_from_pattern(rng, dist, rng.choice(patterns))
        if built is not None and _seed_has_feature(*built, feature):
            return built[0]
    return None


def _multi_yukawa_seed(
    rng: random.Random, dist: FieldDistribution, max_size: int, tries: int
) -> tuple[Field, ...] | None:
    """A content of at most ``max_size`` fields with Yukawa couplings of two different
    monomials that share their scalar, as the SM's quark and lepton Yukawas share the Higgs: a
    Yukawa seed, then a second Yukawa φ ψ ψ' with the same scalar φ, half the time with one of
    the seed's fermions as ψ, and ψ' solved.  Checked with the engine (the whole seed's
    Lagrangian)."""
    second = (("scalar", "fermion", "fermion"), (1, 1, 1))
    for _ in range(tries):
        first = seed_fields(rng, dist, "yukawa", max_size - 1, tries=1)
        if first is None:
            continue
        scalar = next(f for f in first if f.is_scalar)
        fermions = [f for f in first if f.is_fermion]
        given = [scalar]
        if rng.random() < 0.5:
            given.append(rng.choice(fermions))
        built = _seed_from_pattern(rng, dist, second, given)
        if built is None:
            continue
        seed = first + built[0][len(given) :]
        if len(seed) <= max_size and has_multi_yukawa(lagrangian(seed)):
            return seed
    return None


def draw_candidate(
    rng: random.Random, dist: FieldDistribution, proposal: str = "uniform"
) -> tuple[tuple[Field, ...], str]:
    """A random content and the proposal that produced it (``"uniform"`` or a feature name;
    a seeded proposal falls back to ``"uniform"`` when no seed is found)."""
    n = dist.draw_n(rng)
    if proposal != "uniform":
        seed = seed_fields(rng, dist, proposal, n)
        if seed is not None:
            rest = tuple(dist.draw_field(rng) for _ in range(n - len(seed)))
            return seed + rest, proposal
    return dist.draw_content(rng, n), "uniform"


# -- examples ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    """One (fields → Lagrangian) training pair with its descriptors (a dataset row)."""

    input: str
    target: str
    n_fields: int
    n_scalars: int
    n_terms: int
    input_len: int
    target_len: int
    content_key: str
    present: tuple[str, ...]
    proposal: str = "uniform"

    def row(self) -> dict[str, Any]:
        """The dataset row: strings, counts and one ``has_<feature>`` column per feature."""
        out: dict[str, Any] = {
            "input": self.input,
            "target": self.target,
            "n_fields": self.n_fields,
            "n_scalars": self.n_scalars,
            "n_terms": self.n_terms,
            "input_len": self.input_len,
            "target_len": self.target_len,
            "content_key": self.content_key,
        }
        out.update({f"has_{f}": f in self.present for f in FEATURES})
        out["proposal"] = self.proposal
        return out


def target_len_lower_bound(fields: Sequence[Field]) -> int:
    """A cheap lower bound on the number of tokens of ``lagrangian(fields).tokens()``.

    Exact lengths of the kinetic, gauge kinetic and mass terms, plus the quartics
    (φ_a†φ_a)(φ_b†φ_b), a ≤ b, which every pair of scalars has: each writes its four field
    objects with their ID labels, a sign, ``CONTRACTIONS`` and at least one ID per index
    slot.  Used to drop over-long Lagrangians before building them.
    """
    fs = tuple(fields)
    total = 0
    for t in (
        [kinetic_term(fs, i) for i in range(len(fs))] + gauge_kinetic_terms(fs) + mass_terms(fs)
    ):
        total += t.tokens(fs).count(" ") + 1
        if not t.hermitian:
            total += t.conjugate().tokens(fs).count(" ") + 1

    def obj(i: int, conj: bool) -> int:
        f = fs[i]
        return len(f.tokens(conj)) + 1 + sum(su3_slots(f.su3)) + su2_slots(f.su2)

    scalars = [i for i, f in enumerate(fs) if f.is_scalar]
    for a, b in combinations_with_replacement(scalars, 2):
        total += 2 + obj(a, True) + obj(a, False) + obj(b, True) + obj(b, False)
    return total


def make_example(
    fields: Sequence[Field],
    rng: random.Random | None = None,
    shuffle: bool = True,
    max_target_len: int | None = None,
    proposal: str = "uniform",
) -> Example | None:
    """The example of a content: fields shuffled with ``rng`` (or in canonical order), the
    exact Lagrangian as target.  None when the target is longer than ``max_target_len``."""
    ordered = list(canonical_fields(fields))
    if shuffle:
        (rng or random.Random(0)).shuffle(ordered)
    if max_target_len is not None and target_len_lower_bound(ordered) > max_target_len:
        return None
    lag = lagrangian(ordered)
    terms = lag.term_tokens()
    target = " ".join(terms)
    target_len = target.count(" ") + 1
    if max_target_len is not None and target_len > max_target_len:
        return None
    inp = fields_tokens(ordered)
    return Example(
        input=inp,
        target=target,
        n_fields=len(ordered),
        n_scalars=sum(f.is_scalar for f in ordered),
        n_terms=len(terms),
        input_len=inp.count(" ") + 1,
        target_len=target_len,
        content_key=content_key(ordered),
        present=features(lag).present(),
        proposal=proposal,
    )


# -- quotas for the enriched strategy ------------------------------------------------------------
def check_targets(targets: Mapping[str, float] | None) -> dict[str, float]:
    """Validated feature → minimum fraction mapping."""
    out: dict[str, float] = {}
    for name, frac in (targets or {}).items():
        if name not in FEATURES:
            raise LagnbError(
                f"targets: unknown feature {name!r}; expected one of {', '.join(FEATURES)}"
            )
        try:
            value = float(frac)
        except (TypeError, ValueError):
            raise LagnbError(f"targets: fraction of {name!r} is not a number: {frac!r}") from None
        if not 0.0 <= value <= 1.0:
            raise LagnbError(f"targets: fraction of {name!r} must be in [0, 1], got {frac!r}")
        out[name] = value
    return out


@dataclass
class Quotas:
    """Acceptance bookkeeping for ``n`` examples with minimum feature fractions ``targets``.

    A candidate is accepted when it has a feature still short of its quota, or when enough
    room is left to fill every remaining shortfall afterwards.  With no targets every candidate
    is accepted (the uniform strategy).
    """

    n: int
    targets: dict[str, float]
    accepted: int = 0
    counts: Counter = field(default_factory=Counter)

    def quota(self, name: str) -> int:
        return math.ceil(self.targets[name] * self.n - 1e-9)

    def deficits(self) -> dict[str, int]:
        return {f: max(0, self.quota(f) - self.counts[f]) for f in self.targets}

    @property
    def full(self) -> bool:
        return self.accepted >= self.n

    def wants(self, present: Iterable[str]) -> bool:
        if self.full:
            return False
        d = self.deficits()
        if any(d.get(f, 0) > 0 for f in present):
            return True
        return self.n - self.accepted > sum(d.values())

    def add(self, present: Iterable[str]) -> None:
        self.accepted += 1
        self.counts.update(present)

    def fractions(self) -> dict[str, float]:
        """Achieved fraction of every feature among the accepted examples."""
        return {f: (self.counts[f] / self.accepted if self.accepted else 0.0) for f in FEATURES}

    def proposal_weights(self) -> list[tuple[str, float]]:
        """Proposal mix for the next candidates: seeded proposals in proportion to the
        shortfalls, enough of them to fill the shortfalls in the remaining room, the rest
        uniform."""
        d = {f: v for f, v in self.deficits().items() if v > 0}
        room = self.n - self.accepted
        if not d or room <= 0:
            return [("uniform", 1.0)]
        seeded = min(0.95, 1.5 * sum(d.values()) / room)
        total = sum(d.values())
        return [("uniform", 1.0 - seeded)] + [(f, seeded * v / total) for f, v in d.items()]


# -- candidate generation (run in worker processes) ----------------------------------------------
@dataclass(frozen=True)
class CandidateContext:
    """What a worker needs to draw candidates and build their examples; ``distributions`` and
    ``max_target_len`` are per phase (``"main"``, ``"ood"``)."""

    seed: int
    distributions: dict[str, FieldDistribution]
    shuffle: bool = True
    max_target_len: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Drawn:
    """A drawn content (in draw order), the proposal that made it, and its canonical key."""

    fields: tuple[Field, ...]
    proposal: str
    key: str


def candidate_rng(seed: int, phase: str, index: int, stream: str = "draw") -> random.Random:
    """The generator of candidate ``index`` of a phase (``stream`` "draw" for the content,
    "order" for the field order): independent of worker count and of other candidates."""
    return random.Random(f"lagnb:{seed}:{phase}:{index}:{stream}")


def draw_task(ctx: CandidateContext, phase: str, index: int, proposal: str) -> Drawn:
    """Candidate ``index`` of ``phase`` drawn with ``proposal`` (deterministic)."""
    fields, used = draw_candidate(
        candidate_rng(ctx.seed, phase, index), ctx.distributions[phase], proposal
    )
    return Drawn(fields, used, content_key(fields))


def example_task(ctx: CandidateContext, phase: str, index: int, drawn: Drawn) -> Example | None:
    """The example of candidate ``index`` (None when its target is over the phase's limit)."""
    rng = candidate_rng(ctx.seed, phase, index, "order")
    return make_example(
        drawn.fields, rng, ctx.shuffle, ctx.max_target_len.get(phase), drawn.proposal
    )


_WORKER_CTX: CandidateContext | None = None


def init_worker(ctx: CandidateContext) -> None:
    """Pool initializer: store the context in the worker process."""
    global _WORKER_CTX
    _WORKER_CTX = ctx


def run_draw(task: tuple[str, int, str]) -> Drawn:
    """Pool task ``(phase, index, proposal)`` → :class:`Drawn` (after :func:`init_worker`)."""
    assert _WORKER_CTX is not None, "init_worker was not called in this process"
    return draw_task(_WORKER_CTX, *task)


def run_example(task: tuple[str, int, Drawn]) -> Example | None:
    """Pool task ``(phase, index, drawn)`` → :class:`Example` or None."""
    assert _WORKER_CTX is not None, "init_worker was not called in this process"
    return example_task(_WORKER_CTX, *task)
