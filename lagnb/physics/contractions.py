"""Explicit SU(3)×SU(2) index contractions and their independent bases.

An operator built from n field objects (fields or conjugate fields) is gauge invariant when all
of its fundamental indices are contracted with invariant tensors: δ (an upper with a lower
index) and ε (three SU(3) or two SU(2) indices of one kind).  By the first fundamental theorem
of invariant theory for SL(N) these contractions span every invariant.

Linear independence is decided numerically and exactly enough: each contraction is a polynomial
in the field components, evaluated at K random points.  Identical objects (the same field, both
conjugated or both not) receive the *same* random value, which projects onto the symmetric part
as Bose statistics demand — and also as Fermi statistics demand for a pair of identical Weyl
fermions, whose Lorentz ε makes the gauge part symmetric.  The rank of the evaluation matrix is
the number of independent operators.

Since V_k = R3_k ⊗ R2_k, the invariants of the unsymmetrised product are the products of the
SU(3) and SU(2) invariants; the basis is searched among those products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, permutations

import numpy as np

from lagnb.physics.groups import su2_slots, su3_slots

Entry = tuple[int, str]


@dataclass(frozen=True, order=True)
class Atom:
    """One invariant tensor joining index slots of the objects of a term.

    ``group`` is ``"LORENTZ"``, ``"SU3"`` or ``"SU2"``; ``entries`` are (object position, index
    kind) with kind ``"u"`` (upper) or ``"d"`` (lower), ``""`` for Lorentz.  Two entries of
    different kinds form a δ (written upper first); entries all of one kind form an ε, whose
    entry order fixes the sign.
    """

    group: str
    entries: tuple[Entry, ...]

    @property
    def tensor(self) -> str:
        """``"delta"`` or ``"epsilon"`` (``"lorentz"`` for a Lorentz contraction)."""
        if self.group == "LORENTZ":
            return "lorentz"
        kinds = {k for _, k in self.entries}
        return "epsilon" if len(kinds) == 1 else "delta"

    @property
    def objects(self) -> tuple[int, ...]:
        return tuple(p for p, _ in self.entries)

    def moved(self, mapping: Sequence[int], flip: bool = False) -> Atom:
        """The atom with object positions mapped (and index kinds flipped for conjugation)."""
        swap = {"u": "d", "d": "u", "": ""}
        entries = tuple((mapping[p], swap[k] if flip else k) for p, k in self.entries)
        if len({k for _, k in entries}) == 2:
            entries = tuple(sorted(entries, key=lambda e: e[1] != "u"))
        return Atom(self.group, entries)


@dataclass(frozen=True)
class Slot:
    """The gauge content of one object of a term, as seen by the contraction code.

    ``su3`` is the representation *of the object* (already conjugated for a conjugate field);
    ``su2_upper`` is True for a conjugate field.  Objects with equal ``cls`` are identical.
    ``real`` marks a real scalar: its SU(2) indices are lower, and an upper one (as in its
    conjugate, which is the field itself) means the index raised with ε,
    Δ^{ab} ≡ (Δ_{ab})* = ε^{ac} ε^{bd} Δ_{cd} (up to a sign).
    """

    su3: int
    su2: int
    su2_upper: bool
    cls: int
    real: bool = False


# -- enumeration of candidate contractions --------------------------------------------------------
def su3_candidates(reps: tuple[int, ...]) -> list[tuple[Atom, ...]]:
    """All contractions of the SU(3) indices of objects with representations ``reps``.

    ε tensors of only one kind appear (ε^{ijk} ε_{lmn} is a sum of δ products); two indices of one
    object never meet (the tensors are symmetric and traceless).
    """
    up = [su3_slots(r)[0] for r in reps]
    down = [su3_slots(r)[1] for r in reps]
    if (sum(up) - sum(down)) % 3:
        return []
    n = len(reps)
    found: set[tuple[Atom, ...]] = set()

    def rec(atoms: list[Atom], eps: str | None) -> None:
        k = next((i for i in range(n) if up[i] or down[i]), None)
        if k is None:
            found.add(tuple(sorted(atoms)))
            return
        kind, other = ("u", "d") if up[k] else ("d", "u")
        mine, theirs = (up, down) if kind == "u" else (down, up)
        mine[k] -= 1
        for b in range(n):
            if b != k and theirs[b]:
                theirs[b] -= 1
                pair = ((k, kind), (b, other)) if kind == "u" else ((b, other), (k, kind))
                rec([*atoms, Atom("SU3", pair)], eps)
                theirs[b] += 1
        if eps in (None, kind):
            for b, c in combinations([i for i in range(n) if i != k and mine[i]], 2):
                mine[b] -= 1
                mine[c] -= 1
                rec([*atoms, Atom("SU3", ((k, kind), (b, kind), (c, kind)))], kind)
                mine[b] += 1
                mine[c] += 1
        mine[k] += 1

    rec([], None)
    return sorted(found, key=lambda a: (sum(x.tensor == "epsilon" for x in a), a))


def su2_candidates(reps: tuple[tuple[int, bool], ...]) -> list[tuple[Atom, ...]]:
    """All contractions of the SU(2) indices of objects given as (dimension, upper?)."""
    slots = [su2_slots(r) for r, _ in reps]
    kinds = ["u" if upper else "d" for _, upper in reps]
    if sum(slots) % 2:
        return []
    n = len(reps)
    found: set[tuple[Atom, ...]] = set()

    def rec(atoms: list[Atom]) -> None:
        k = next((i for i in range(n) if slots[i]), None)
        if k is None:
            found.add(tuple(sorted(atoms)))
            return
        slots[k] -= 1
        for b in range(k + 1, n):
            if slots[b]:
                slots[b] -= 1
                pair = ((k, kinds[k]), (b, kinds[b]))
                if kinds[k] != kinds[b]:
                    pair = tuple(sorted(pair, key=lambda e: e[1] != "u"))
                rec([*atoms, Atom("SU2", pair)])
                slots[b] += 1
        slots[k] += 1

    rec([])
    return sorted(found, key=lambda a: (sum(x.tensor == "epsilon" for x in a), a))


# -- numerical evaluation --------------------------------------------------------------------------
_EPS3 = np.zeros((3, 3, 3))
for _p in permutations(range(3)):
    _EPS3[_p] = np.linalg.det(np.eye(3)[list(_p)])
_EPS2 = np.array([[0.0, 1.0], [-1.0, 0.0]])


def random_tensor(
    rng: np.random.Generator, k: int, su3: int, su2: int, *, with_su3: bool = True
) -> np.ndarray:
    """K random tensors of an object: axes (batch, SU(3) upper…, SU(3) lower…, SU(2)…).

    Symmetric in indices of one kind and traceless, i.e. generic elements of the irrep.
    """
    p, q = su3_slots(su3) if with_su3 else (0, 0)
    s = su2_slots(su2)
    shape = (k,) + (3,) * (p + q) + (2,) * s
    t = rng.uniform(-1.0, 1.0, size=shape)
    for start, count in ((1, p), (1 + p, q), (1 + p + q, s)):
        if count > 1:
            axes = list(range(start, start + count))
            t = sum(np.moveaxis(t, axes, list(perm)) for perm in permutations(axes)) / len(
                list(permutations(axes))
            )
    if p == 1 and q == 1:
        trace = np.einsum("bii...->b...", t)
        t = t - np.einsum("ij,b...->bij...", np.eye(3), trace) / 3.0
    return t


def evaluate(
    objects: Sequence[tuple[int, int]],
    atoms: Sequence[Atom],
    values: Sequence[np.ndarray],
    with_su3: bool = True,
    with_su2: bool = True,
    real: Sequence[bool] = (),
) -> np.ndarray:
    """Evaluate a contraction on a batch of object values; returns shape (K,).

    ``objects`` are (su3, su2) of each object; ``values[k]`` the batch of tensors of object k
    as made by :func:`random_tensor`.  Lorentz atoms are ignored (they are evaluated by
    statistics, see the module docstring).  An upper SU(2) index of an object flagged in
    ``real`` (a real scalar, whose tensor has lower indices) is its lower index raised with ε.
    """
    label = 1
    slots: list[dict[str, list[int]]] = []
    operands: list[object] = []
    for (su3, su2), val in zip(objects, values):
        p, q = su3_slots(su3) if with_su3 else (0, 0)
        s = su2_slots(su2) if with_su2 else 0
        labels = list(range(label, label + p + q + s))
        label += p + q + s
        slots.append({"u3": labels[:p], "d3": labels[p : p + q], "2": labels[p + q :]})
        operands += [val, [0, *labels]]
    used = [dict.fromkeys(s, 0) for s in slots]

    def take(pos: int, key: str) -> int:
        i = used[pos][key]
        used[pos][key] += 1
        return slots[pos][key][i]

    for atom in atoms:
        if atom.group == "LORENTZ":
            continue
        if atom.group == "SU3":
            labels = [take(p, "u3" if k == "u" else "d3") for p, k in atom.entries]
        else:
            labels = [take(p, "2") for p, _ in atom.entries]
            for j, (p, k) in enumerate(atom.entries):
                if k == "u" and p < len(real) and real[p]:
                    operands += [_EPS2, [label, labels[j]]]
                    labels[j] = label
                    label += 1
        if atom.tensor == "delta":
            a, b = labels
            for op in operands[1::2]:
                op[:] = [a if x == b else x for x in op]  # type: ignore[index]
        else:
            operands += [_EPS3 if atom.group == "SU3" else _EPS2, labels]
    return _pairwise_einsum(operands, [0])


def _pairwise_einsum(operands: list, out: list[int]) -> np.ndarray:
    """``np.einsum(*operands, out)`` contracted two operands at a time.

    Skips numpy's Python-level path search (``einsum_path``), which dominated cold timings:
    the next operand is the one sharing most labels with the running intermediate, and a label
    is summed as soon as no later operand and not the output needs it.
    """
    ops = [(operands[i], list(operands[i + 1])) for i in range(0, len(operands), 2)]
    cur, cl = ops.pop(0)
    while ops:
        here = set(cl)
        j = max(range(len(ops)), key=lambda i: len(here.intersection(ops[i][1])))
        b, bl = ops.pop(j)
        needed = set(out).union(*(lab for _, lab in ops))
        keep = [x for x in dict.fromkeys(cl + bl) if x in needed]
        cur, cl = np.einsum(cur, cl, b, bl, keep), keep
    return np.einsum(cur, cl, out)


def _rank_basis(vectors: np.ndarray, tol: float = 1e-8) -> list[int]:
    """Greedy: indices of rows that are linearly independent of the earlier chosen rows."""
    chosen: list[int] = []
    q: list[np.ndarray] = []
    for i, v in enumerate(vectors):
        norm = np.linalg.norm(v)
        if norm < tol:
            continue
        r = v / norm
        for b in q:
            r = r - (b @ r) * b
        rn = np.linalg.norm(r)
        if rn > tol * 10:
            chosen.append(i)
            q.append(r / rn)
    return chosen


def _independent(
    objs: tuple, candidates: list[tuple[Atom, ...]], su3: bool
) -> list[tuple[Atom, ...]]:
    """The candidates (unsymmetrised, distinct objects) that form a basis, greedy in order."""
    if len(candidates) <= 1:
        return candidates
    rng = np.random.default_rng(12345)
    k = len(candidates) + 6
    shapes = [(r, 1) if su3 else (1, r) for r in objs]
    values = [random_tensor(rng, k, a, b) for a, b in shapes]
    vecs = np.array(
        [evaluate(shapes, c, values, with_su3=su3, with_su2=not su3) for c in candidates]
    )
    return [candidates[i] for i in _rank_basis(vecs)]


@lru_cache(maxsize=4096)
def su3_basis(reps: tuple[int, ...]) -> tuple[tuple[Atom, ...], ...]:
    """Independent SU(3) contractions of distinct objects with these representations."""
    return tuple(_independent(reps, su3_candidates(reps), su3=True))


@lru_cache(maxsize=4096)
def su2_basis(reps: tuple[tuple[int, bool], ...]) -> tuple[tuple[Atom, ...], ...]:
    """Independent SU(2) contractions of distinct objects given as (dimension, upper?)."""
    cands = su2_candidates(reps)
    return tuple(_independent(tuple(r for r, _ in reps), cands, su3=False))


@dataclass(frozen=True)
class Invariant:
    """One independent operator of a monomial: its contraction and whether it is hermitian.

    For a monomial equal to its own conjugate, ``hermitian`` operators take a real coupling and
    the others stand for "O + h.c."; for any other monomial ``hermitian`` is False.
    """

    atoms: tuple[Atom, ...]
    hermitian: bool


class Evaluator:
    """Evaluates contractions of one monomial at shared random points (identical objects equal)."""

    def __init__(self, slots: tuple[Slot, ...], k: int, seed: int = 2024) -> None:
        rng = np.random.default_rng(seed)
        self.shapes = [(s.su3, s.su2) for s in slots]
        self.real = tuple(s.real for s in slots) if any(s.real for s in slots) else ()
        by_cls: dict[int, np.ndarray] = {}
        for s in slots:
            if s.cls not in by_cls:
                by_cls[s.cls] = random_tensor(rng, k, s.su3, s.su2)
        self.values = [by_cls[s.cls] for s in slots]

    def __call__(self, atoms: Sequence[Atom]) -> np.ndarray:
        return evaluate(self.shapes, atoms, self.values, real=self.real)


def conjugation_map(slots: tuple[Slot, ...], conj_cls: dict[int, int]) -> list[int] | None:
    """A permutation of positions sending each object to one holding its conjugate, if any."""
    free: dict[int, list[int]] = {}
    for i, s in enumerate(slots):
        free.setdefault(s.cls, []).append(i)
    mapping = []
    for s in slots:
        target = free.get(conj_cls.get(s.cls, -1))
        if not target:
            return None
        mapping.append(target.pop(0))
    return mapping


def conjugate_atoms(atoms: Sequence[Atom], mapping: Sequence[int]) -> tuple[Atom, ...]:
    return tuple(sorted(a.moved(mapping, flip=True) for a in atoms))


def candidate_products(slots: tuple[Slot, ...]) -> list[tuple[Atom, ...]]:
    """Every product of one SU(3) and one SU(2) contraction pattern of ``slots``: the spanning
    set from which an independent basis of invariants is chosen."""
    b3 = su3_basis(tuple(s.su3 for s in slots))
    b2 = su2_basis(tuple((s.su2, s.su2_upper) for s in slots))
    return [tuple(sorted(a + b)) for a in b3 for b in b2]


@lru_cache(maxsize=8192)
def invariant_basis(
    slots: tuple[Slot, ...], conj_pairs: tuple[tuple[int, int], ...] = ()
) -> tuple[Invariant, ...]:
    """Independent gauge invariants of a monomial, symmetrised over identical objects.

    ``conj_pairs`` lists (cls, cls of its conjugate); when every object's conjugate is in the
    monomial (a self-conjugate monomial) the basis is chosen hermitian where possible.
    """
    products = candidate_products(slots)
    if not products:
        return ()
    ev = Evaluator(slots, len(products) + 6)
    vecs = np.array([ev(c) for c in products])
    conj = dict(conj_pairs) | {b: a for a, b in conj_pairs}
    mapping = conjugation_map(slots, conj) if conj_pairs else None
    if mapping is None:
        return tuple(Invariant(products[i], False) for i in _rank_basis(vecs))

    conj_vecs = np.array([ev(conjugate_atoms(c, mapping)) for c in products])
    full_rank = len(_rank_basis(vecs))
    herm = [
        i
        for i in range(len(products))
        if np.linalg.norm(vecs[i]) > 1e-8
        and min(np.linalg.norm(conj_vecs[i] - vecs[i]), np.linalg.norm(conj_vecs[i] + vecs[i]))
        < 1e-8 * np.linalg.norm(vecs[i])
    ]
    chosen = [herm[i] for i in _rank_basis(vecs[herm])] if herm else []
    out = [Invariant(products[i], True) for i in chosen]
    basis = [vecs[i] for i in chosen]
    for i in range(len(products)):
        if len(basis) >= full_rank:
            break
        if i in chosen:
            continue
        trial = np.array([*basis, vecs[i], conj_vecs[i]])
        if len(_rank_basis(trial)) == len(basis) + 2:
            out.append(Invariant(products[i], False))
            basis += [vecs[i], conj_vecs[i]]
    for i in range(len(products)):
        # O† = e^{iθ} O + (hermitian terms above): one real direction (e.g. H†[A, B]H of two
        # real triplets, whose products pair up); O takes a real coupling up to that phase
        if len(basis) >= full_rank:
            break
        if i not in chosen and len(_rank_basis(np.array([*basis, vecs[i]]))) > len(basis):
            trial = np.array([*basis, vecs[i], conj_vecs[i]])
            if len(_rank_basis(trial)) == len(basis) + 1:
                out.append(Invariant(products[i], True))
                basis.append(vecs[i])
    if len(basis) < full_rank:
        raise RuntimeError(f"could not find a hermitian basis for {slots}")  # pragma: no cover
    return tuple(out)
