"""The gauge group SU(3)×SU(2)×U(1) and the representations lagnb supports.

Every irreducible representation is realised as a tensor of fundamental indices:

* SU(3) irrep with Dynkin labels (p, q) = a traceless tensor with p symmetric *upper* and q
  symmetric *lower* indices.  ``3`` = (1, 0), ``-3`` (the 3̄) = (0, 1), ``6`` = (2, 0),
  ``-6`` = (0, 2), ``8`` = (1, 1).
* SU(2) irrep of dimension n = a symmetric tensor with n − 1 indices.  An unconjugated field
  carries *lower* SU(2) indices, its conjugate *upper* ones (2 and 2̄ are equivalent through
  ε, which is why the BART-L format always writes a doublet as ``SU2 2``).

Invariant tensors are δ (one upper with one lower index) and ε (three upper or three lower
SU(3) indices; two upper or two lower SU(2) indices).
"""

from __future__ import annotations

SU3_REPS: dict[int, tuple[int, int]] = {
    1: (0, 0),
    3: (1, 0),
    -3: (0, 1),
    6: (2, 0),
    -6: (0, 2),
    8: (1, 1),
}
"""SU(3) representations by signed dimension (``-3`` is the 3̄) → Dynkin labels (p, q)."""

SU2_REPS: tuple[int, ...] = (1, 2, 3, 4)
"""SU(2) representations by dimension (2j + 1)."""

GROUPS: tuple[str, ...] = ("SU3", "SU2", "U1")


def su3_conjugate(rep: int) -> int:
    """The conjugate SU(3) representation (3 ↔ 3̄, 6 ↔ 6̄; 1 and 8 are real)."""
    return rep if rep in (1, 8) else -rep


def su3_dim(rep: int) -> int:
    return abs(rep)


def su3_slots(rep: int) -> tuple[int, int]:
    """Numbers of (upper, lower) fundamental SU(3) indices of the tensor realising ``rep``."""
    return SU3_REPS[rep]


def su2_slots(rep: int) -> int:
    """Number of fundamental SU(2) indices of the tensor realising ``rep``."""
    return rep - 1


def su3_label(rep: int) -> str:
    """Human-readable name: ``3``, ``\\bar{3}``, … (LaTeX)."""
    return rf"\bar{{{-rep}}}" if rep < 0 else str(rep)


def su3_weights(rep: int) -> list[tuple[int, int]]:
    """Weights of an SU(3) irrep as (n1, n2) in the Dynkin basis, with multiplicity.

    Computed by Freudenthal-free brute force: the weights of Sym^p(3) ⊗ Sym^q(3̄) minus those of
    Sym^{p-1}(3) ⊗ Sym^{q-1}(3̄) (removing the trace).
    """
    p, q = SU3_REPS[rep]
    return _su3_tensor_weights(p, q, subtract_trace=True)


_FUND3 = ((1, 0), (-1, 1), (0, -1))


def _sym_weights(n: int, basis: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []

    def rec(start: int, left: int, acc: tuple[int, int]) -> None:
        if left == 0:
            out.append(acc)
            return
        for i in range(start, len(basis)):
            rec(i, left - 1, (acc[0] + basis[i][0], acc[1] + basis[i][1]))

    rec(0, n, (0, 0))
    return out


def _su3_tensor_weights(p: int, q: int, subtract_trace: bool) -> list[tuple[int, int]]:
    anti = tuple((-a, -b) for a, b in _FUND3)
    full = [
        (a[0] + b[0], a[1] + b[1]) for a in _sym_weights(p, _FUND3) for b in _sym_weights(q, anti)
    ]
    if subtract_trace and p > 0 and q > 0:
        for w in _su3_tensor_weights(p - 1, q - 1, subtract_trace=False):
            full.remove(w)
    return full


def su2_weights(rep: int) -> list[int]:
    """Weights 2·T3 of an SU(2) irrep: n−1, n−3, …, −(n−1)."""
    return list(range(rep - 1, -rep, -2))
