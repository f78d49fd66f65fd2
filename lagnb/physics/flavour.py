"""Flavour structure of couplings: fields with several generations (``Field(generations=n)``).

A term whose fields have n₁, n₂, … generations has a coupling tensor c_{i₁i₂…} with one flavour
index per such field.  When a field with n > 1 generations appears m ≥ 2 times in a monomial
(the two N of a Majorana mass N_i N_j, the two L of ε(L_i L_j) h⁺), the tensor inherits the
permutation symmetry of the gauge contraction: for two identical bosons directly, and for two
identical Weyl fermions too, because their Lorentz contraction ψ_i^α ψ_{jα} is symmetric in
i ↔ j (Lorentz ε and Fermi statistics each give a sign).  So

* a contraction symmetric under exchanging the copies takes a symmetric coupling (the Majorana
  mass: n(n + 1)/2 complex entries), an antisymmetric one an antisymmetric coupling (ε(L L)h⁺:
  n(n − 1)/2, none for n = 1 — the reason the one-generation engine never lists it);
* in general the space of contractions of the m copies (taken as distinct objects) splits
  under the permutation group S_m into irreducible parts λ (Young diagrams); part λ comes with
  a coupling in the Schur space S_λ(ℂⁿ), of dimension ∏_cells (n + content)/hook.

The decomposition is found numerically from the characters of the permutations acting on the
evaluated contractions (:func:`flavoured_basis`), with the character tables of S₂, S₃ and S₄
(renormalizable terms have at most four copies).  A monomial equal to its own conjugate has
hermitian operators (a real coupling tensor up to the hermiticity condition, e.g.
λ_{ijkl}* = λ_{jilk}), counted once; other operators stand for O + h.c. with complex couplings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import permutations, product

import numpy as np

from lagnb.physics.contractions import (
    Atom,
    Evaluator,
    Invariant,
    Slot,
    _rank_basis,
    candidate_products,
    conjugate_atoms,
    conjugation_map,
)

Partition = tuple[int, ...]


@dataclass(frozen=True)
class Flavour:
    """The flavour structure of one term's coupling.

    ``generations`` has one entry per factor of the term (1: no flavour index).
    ``symmetry`` lists groups of factor positions holding the same field (with n > 1) and
    the Young diagram of the coupling in those indices: ``(2,)`` symmetric, ``(1, 1)``
    antisymmetric, ``(2, 1)`` … mixed.  Other flavoured positions carry general indices.
    ``components`` counts the independent entries of the coupling tensor (complex for
    O + h.c.; for a hermitian operator the hermiticity condition leaves as many real ones);
    ``parameters`` the independent real parameters.
    """

    generations: tuple[int, ...]
    symmetry: tuple[tuple[tuple[int, ...], Partition], ...]
    components: int
    parameters: int

    def describe(self) -> str:
        """E.g. ``3×3 symmetric, 12 real`` or ``3×3×2, 36 real``."""
        shape = "×".join(str(n) for n in self.generations if n > 1)
        kinds = [_symmetry_word(p) for _, p in self.symmetry]
        kind = f" {', '.join(kinds)}" if kinds else ""
        return f"{shape}{kind}, {self.parameters} real"


def _symmetry_word(p: Partition) -> str:
    if len(p) == 1:
        return "symmetric"
    if all(x == 1 for x in p):
        return "antisymmetric"
    return "mixed " + "(" + ",".join(map(str, p)) + ")"


def schur_dimension(partition: Partition, n: int) -> int:
    """dim S_λ(ℂⁿ) by the hook-content formula: ∏ (n + col − row) / hook over the cells."""
    num = den = 1
    cols = [sum(1 for r in partition if r > c) for c in range(partition[0])] if partition else []
    for r, length in enumerate(partition):
        for c in range(length):
            num *= n + c - r
            den *= (length - c - 1) + (cols[c] - r - 1) + 1
    return num // den


# Character tables of S_2, S_3, S_4: partition → cycle type → χ.
def _cycle_type(perm: Sequence[int]) -> Partition:
    seen, out = set(), []
    for start in range(len(perm)):
        if start in seen:
            continue
        length, k = 0, start
        while k not in seen:
            seen.add(k)
            k = perm[k]
            length += 1
        out.append(length)
    return tuple(sorted(out, reverse=True))


_CHARACTERS: dict[int, dict[Partition, dict[Partition, int]]] = {
    1: {(1,): {(1,): 1}},
    2: {(2,): {(1, 1): 1, (2,): 1}, (1, 1): {(1, 1): 1, (2,): -1}},
    3: {
        (3,): {(1, 1, 1): 1, (2, 1): 1, (3,): 1},
        (2, 1): {(1, 1, 1): 2, (2, 1): 0, (3,): -1},
        (1, 1, 1): {(1, 1, 1): 1, (2, 1): -1, (3,): 1},
    },
    4: {
        (4,): {(1, 1, 1, 1): 1, (2, 1, 1): 1, (2, 2): 1, (3, 1): 1, (4,): 1},
        (3, 1): {(1, 1, 1, 1): 3, (2, 1, 1): 1, (2, 2): -1, (3, 1): 0, (4,): -1},
        (2, 2): {(1, 1, 1, 1): 2, (2, 1, 1): 0, (2, 2): 2, (3, 1): -1, (4,): 0},
        (2, 1, 1): {(1, 1, 1, 1): 3, (2, 1, 1): -1, (2, 2): -1, (3, 1): 0, (4,): 1},
        (1, 1, 1, 1): {(1, 1, 1, 1): 1, (2, 1, 1): -1, (2, 2): 1, (3, 1): 1, (4,): -1},
    },
}


@dataclass(frozen=True)
class FlavouredInvariant:
    """One operator of a monomial with repeated flavoured objects: a contraction (of the
    copies as distinct objects), the Young diagram of its coupling per group, how many copies
    of that S_m irrep it stands for, and whether it is hermitian."""

    invariant: Invariant
    sector: tuple[Partition, ...]
    copies: int


@lru_cache(maxsize=4096)
def flavoured_basis(
    slots: tuple[Slot, ...],
    conj_pairs: tuple[tuple[int, int], ...],
    groups: tuple[tuple[int, ...], ...],
    generations: tuple[int, ...],
) -> tuple[FlavouredInvariant, ...]:
    """Operators of a monomial whose ``groups`` (positions of copies of one flavoured object,
    with ``generations[g]`` flavours) are permuted among themselves.

    ``slots`` give each copy its own class (the copies are distinct objects); ``conj_pairs``
    pair classes with their conjugates when the monomial equals its conjugate.
    """
    products = candidate_products(slots)
    if not products:
        return ()
    ev = Evaluator(slots, len(products) + 6)
    n_pos = len(slots)
    perms: list[tuple[list[int], tuple[Partition, ...]]] = []
    for choice in product(*(permutations(range(len(g))) for g in groups)):
        mapping = list(range(n_pos))
        types = []
        for g, p in zip(groups, choice):
            for k, pos in enumerate(g):
                mapping[pos] = g[p[k]]
            types.append(_cycle_type(p))
        perms.append((mapping, tuple(types)))

    def moved(c: tuple[Atom, ...], mapping: list[int]) -> tuple[Atom, ...]:
        return tuple(sorted(a.moved(mapping) for a in c))

    conj = dict(conj_pairs) | {b: a for a, b in conj_pairs}
    mapping_c = conjugation_map(slots, conj) if conj_pairs else None
    # which group is the conjugate of which (a real flavoured field: itself)
    group_conj: list[int] = []
    if mapping_c is not None:
        for g in groups:
            image = {mapping_c[p] for p in g}
            group_conj.append(next(h for h, other in enumerate(groups) if set(other) == image))

    sectors = [
        s
        for s in product(*(_CHARACTERS[len(g)] for g in groups))
        if all(schur_dimension(p, generations[k]) for k, p in enumerate(s))
    ]
    table = {c: [ev(moved(c, m)) for m, _ in perms] for c in products}

    def project(c: tuple[Atom, ...], sector: tuple[Partition, ...], vecs=None) -> np.ndarray:
        vecs = table[c] if vecs is None else vecs
        out = np.zeros_like(vecs[0])
        for (_, types), v in zip(perms, vecs):
            chi = math.prod(_CHARACTERS[len(g)][p][t] for g, p, t in zip(groups, sector, types))
            if chi:
                out = out + chi * v
        return out

    def orbit(c: tuple[Atom, ...], sector: tuple[Partition, ...]) -> list[np.ndarray]:
        """The part of sector λ generated by c: its projection's permutations."""
        out = []
        for m, _ in perms:
            mc = moved(c, m)
            if mc not in table:
                table[mc] = [ev(moved(mc, m2)) for m2, _ in perms]
            out.append(project(mc, sector))
        return out

    found: list[FlavouredInvariant] = []
    done: set[tuple[Partition, ...]] = set()
    for sector in sectors:
        if sector in done:
            continue
        partner = tuple(sector[h] for h in group_conj) if mapping_c is not None else None
        done |= {sector, partner} if partner else {sector}
        dim = math.prod(_CHARACTERS[len(g)][p][(1,) * len(g)] for g, p in zip(groups, sector))
        span: list[np.ndarray] = []
        for c in products:
            vecs = orbit(c, sector) if dim > 1 else [project(c, sector)]
            new = len(_rank_basis(np.array(span + vecs))) if span else len(_rank_basis(vecs))
            gain = new - (len(_rank_basis(np.array(span))) if span else 0)
            if gain <= 0:
                continue
            hermitian = partner == sector
            if hermitian and dim == 1 and mapping_c is not None:
                v = project(c, sector)
                conj_vecs = [ev(conjugate_atoms(moved(c, m), mapping_c)) for m, _ in perms]
                w = project(c, sector, conj_vecs)
                scale = np.linalg.norm(v)
                if min(np.linalg.norm(w - v), np.linalg.norm(w + v)) > 1e-8 * scale:
                    trial = np.array([*span, v, w])
                    if len(_rank_basis(trial)) == len(_rank_basis(np.array([*span, v]))) + 1:
                        # O and O† independent within the sector: O + h.c. (two copies)
                        found.append(FlavouredInvariant(Invariant(c, False), sector, 1))
                        span += [v, w]
                        continue
            span += vecs
            copies = max(gain // dim, 1)
            found.append(FlavouredInvariant(Invariant(c, hermitian), sector, copies))
    return tuple(found)
