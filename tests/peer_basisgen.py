"""Driver for the peer tool BasisGen (test-only): derivative-free invariant counts per monomial.

BasisGen (``pip install basisgen``, Criado 2019) counts the independent invariants of an EFT by
characters and Weyl-group methods on its own Lie-algebra code.  A field and its conjugate are
separate BasisGen fields, so a complex operator counts once for O and once for O†, a hermitian
one once — the convention of :func:`lagnb.physics.counting.operator_counts`.  BasisGen also counts
tadpoles (one-object operators) and derivative operators; both are dropped here.

Mapping of lagnb fields: SU(3) rep → Dynkin labels (1: 0 0, 3: 1 0, 3̄: 0 1, 6: 2 0, 6̄: 0 2,
8: 1 1), SU(2) of dimension n → 2j = n − 1, hypercharge → the single U(1) charge (only sums to
zero matter, so the normalisation is irrelevant), scalar → Lorentz (0, 0) boson of dimension 1,
left-handed Weyl → (1/2, 0), right-handed → (0, 1/2), fermions of dimension 3/2.
Extra U(1)s (gauged or global) are further BasisGen charges (Z_N charges have no BasisGen
counterpart and are left to the project's own counting), a real scalar is one BasisGen field
without a conjugate, and generations are BasisGen's ``number_of_flavors``.
"""

from __future__ import annotations

from collections.abc import Sequence

import basisgen

from lagnb.physics.fields import Field

DYNKIN_SU3 = {1: (0, 0), 3: (1, 0), -3: (0, 1), 6: (2, 0), -6: (0, 2), 8: (1, 1)}

Monomial = tuple[tuple[int, bool], ...]


def basisgen_field(f: Field, index: int, u1s: Sequence = ()) -> basisgen.Field:
    """The BasisGen field of ``f`` (unconjugated), named ``f<index>``; ``u1s`` are the extra
    U(1) symmetries whose charges follow the hypercharge."""
    a, b = DYNKIN_SU3[f.su3]
    if f.is_scalar:
        lorentz, stats, dim = basisgen.scalar, basisgen.boson, 1
    else:
        lorentz = basisgen.L_spinor if f.helicity < 0 else basisgen.R_spinor
        stats, dim = basisgen.fermion, 1.5
    return basisgen.Field(
        name=f"f{index}",
        lorentz_irrep=lorentz,
        internal_irrep=basisgen.irrep("SU3 x SU2", f"{a} {b} {f.su2 - 1}"),
        charges=[f.y, *(f.charge(s) for s in u1s)],
        statistics=stats,
        dimension=dim,
        number_of_flavors=f.generations,
    )


def basisgen_eft(fields: Sequence[Field]) -> tuple[basisgen.EFT, dict[str, tuple[int, bool]]]:
    """A BasisGen EFT with every field and its conjugate, and the name → object map."""
    bg_fields = []
    names: dict[str, tuple[int, bool]] = {}
    syms = sorted({s for f in fields for s, _ in f.charges})
    if any(s.is_discrete for s in syms):
        raise ValueError("BasisGen has no Z_N charges")
    for i, f in enumerate(fields):
        bf = basisgen_field(f, i, syms)
        bg_fields.append(bf)
        names[bf.name] = (i, False)
        if not f.real:
            bc = bf.conjugate
            bg_fields.append(bc)
            names[bc.name] = (i, True)
    return basisgen.EFT(basisgen.algebra("SU3 x SU2"), bg_fields), names


def basisgen_counts(fields: Sequence[Field], max_dimension: int = 4) -> dict[Monomial, int]:
    """Derivative-free invariants per monomial of ≥ 2 objects with dimension ≤ ``max_dimension``.

    Monomial keys are sorted tuples of (field index, conjugate?), as in lagnb.physics.counting.
    """
    eft, names = basisgen_eft(fields)
    invariants = eft.invariants(max_dimension).invariants
    out: dict[Monomial, int] = {}
    for operator, by_derivatives in invariants.items():
        count = by_derivatives.get(0, 0)
        objects = [names[f.name] for f, m in operator.content.items() for _ in range(m)]
        if count and len(objects) >= 2:
            out[tuple(sorted(objects))] = count
    return out


def clear_basisgen_caches() -> int:
    """Clear every functools cache inside BasisGen (for cold timings); returns how many."""
    import importlib
    import inspect
    import pkgutil

    cleared = 0
    for info in pkgutil.iter_modules(basisgen.__path__):
        module = importlib.import_module(f"basisgen.{info.name}")
        owners = [module] + [c for _, c in inspect.getmembers(module, inspect.isclass)]
        for owner in owners:
            for name in dir(owner):
                obj = inspect.getattr_static(owner, name, None)
                obj = getattr(obj, "__func__", obj)  # staticmethod / classmethod
                if hasattr(obj, "cache_clear"):
                    obj.cache_clear()
                    cleared += 1
    return cleared
