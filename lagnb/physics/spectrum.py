"""Vacuum, mass spectrum and Feynman rules of a Lagrangian's scalar sector, in plain SymPy.

Works on :func:`lagnb.physics.symbolic.potential` and :func:`~lagnb.physics.symbolic.to_sympy`
(no feynlag needed).  Conventions:

* a vev sits on the electrically neutral component of a colour-singlet field (weight basis, see
  :mod:`lagnb.physics.symbolic`): φ⁰ = (v + r + i a)/√2 with real fluctuations r (CP-even) and
  a (CP-odd);
* a real scalar's neutral component (``Field(..., real=True)``, see
  :mod:`lagnb.physics.symbolic`) is a real field: with a vev S = v + r, without one it is its
  own CP-even fluctuation r = S, so it mixes with the other CP-even states (a real triplet's
  charged component φ₁ is an ordinary complex field of charge 1);
* with ``split=True`` a complex neutral component without a vev is (r + i a)/√2 as well;
* the tadpole equations are ∂V/∂r = 0 at zero fluctuations;
* mass matrices at the vacuum: CP-even M²_ij = ∂²V/∂r_i∂r_j, CP-odd ∂²V/∂a_i∂a_j, and for
  each electric charge Q > 0 the complex block M²_ij = ∂²V/∂φ_i*∂φ_j over the components of
  charge Q and the conjugates of those of charge −Q (so that V ⊃ φ† M² φ); a quadratic term
  outside these blocks (CP-even/odd mixing, a φφ mass) is an error, never dropped;
* a Feynman rule is i ∂ⁿℒ/∂φ₁…∂φₙ at zero fields (φ* counts as an independent field, written
  ``conjugate(φ)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from lagnb.errors import LagnbError
from lagnb.physics.symbolic import flavour_components
from lagnb.physics.terms import Lagrangian


@dataclass(frozen=True)
class Vacuum:
    """The vacuum expansion of a Lagrangian's scalars.

    ``shift`` maps each neutral component with a vev to (v + r + i a)/√2 (v + r for a real
    component); ``vevs`` are the v symbols, ``even`` and ``odd`` the fluctuations r and a (in
    field order; ``even`` also holds a real neutral component without a vev); ``charged`` maps
    each nonzero electric charge to the scalar components (colour singlets) that carry it; the
    neutral components without a vev are listed in ``neutral``.
    """

    shift: dict[sp.Symbol, sp.Expr]
    vevs: tuple[sp.Symbol, ...]
    even: tuple[sp.Symbol, ...]
    odd: tuple[sp.Symbol, ...]
    charged: dict[Fraction, tuple[sp.Symbol, ...]]
    neutral: tuple[sp.Symbol, ...]

    def apply(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with the vacuum expansion substituted (conjugates too), expanded."""
        conj = {sp.conjugate(c): sp.conjugate(e) for c, e in self.shift.items()}
        return sp.expand(expr.xreplace(conj).xreplace(self.shift))

    @property
    def zero(self) -> dict[sp.Expr, int]:
        """Every fluctuation and every component without a vev (and its conjugate) at zero."""
        fields = [*self.even, *self.odd, *self.neutral]
        fields += [c for comps in self.charged.values() for c in comps]
        return {f: 0 for f in fields} | {sp.conjugate(f): 0 for f in fields if not f.is_real}


def expand_vacuum(lag: Lagrangian, vevs: Mapping[str, sp.Symbol], split: bool = False) -> Vacuum:
    """The vacuum with a vev ``vevs[name]`` on the neutral component of each named field.

    With ``split`` a complex neutral component φ⁰ without a vev is written φ⁰ = (r + i a)/√2
    too (r CP-even, a CP-odd: the inert doublet's H⁰ and A⁰, split by a φ⁰φ⁰ term such as
    (H†η)² + h.c.) instead of entering the complex ``"neutral"`` block.

    Raises :class:`LagnbError` for an unknown name or a field without exactly one neutral
    colour-singlet component, and for a scalar with several generations (fermion generations
    are fine: only scalars enter the vacuum).
    """
    comps = [cs[0] for cs in flavour_components(lag)]  # scalars have one flavour
    for name in vevs:
        if name not in lag.names:
            raise LagnbError(
                f"vevs: no field named {name!r}; the fields are {', '.join(lag.names)}"
            )
    shift: dict[sp.Symbol, sp.Expr] = {}
    even, odd, neutral = [], [], []
    charged: dict[Fraction, list[sp.Symbol]] = {}
    for name, c in zip(lag.names, comps):
        if not c.field.is_scalar or c.field.su3 != 1:
            continue
        zero = [s for (_, w), s in c.symbols.items() if c.charge(w) == 0]
        for (_, w), s in c.symbols.items():
            q = c.charge(w)
            if q != 0:
                charged.setdefault(q, []).append(s)
        if name in vevs:
            if len(zero) != 1:
                raise LagnbError(f"vevs: {name!r} has no single neutral component to take a vev")
            (s,) = zero
            r = sp.Symbol(f"{s.name}_r", real=True)
            if c.field.real:
                shift[s] = vevs[name] + r
            else:
                a = sp.Symbol(f"{s.name}_i", real=True)
                shift[s] = (vevs[name] + r + sp.I * a) / sp.sqrt(2)
                odd.append(a)
            even.append(r)
        elif c.field.real:
            even += zero
        elif split:
            for s in zero:
                r, a = sp.symbols(f"{s.name}_r {s.name}_i", real=True)
                shift[s] = (r + sp.I * a) / sp.sqrt(2)
                even.append(r)
                odd.append(a)
        else:
            neutral += zero
    return Vacuum(
        shift,
        tuple(vevs[n] for n in lag.names if n in vevs),
        tuple(even),
        tuple(odd),
        {q: tuple(v) for q, v in sorted(charged.items())},
        tuple(neutral),
    )


def tadpoles(V: sp.Expr, vacuum: Vacuum) -> list[sp.Expr]:
    """∂V/∂r at the vacuum, one per CP-even fluctuation (each must vanish): one per vev, and
    one per real neutral component S (∂V/∂S) or split complex one without a vev, in field
    order."""
    shifted = vacuum.apply(V)
    return [sp.expand(sp.diff(shifted, r).xreplace(vacuum.zero)) for r in vacuum.even]


def mass_matrices(V: sp.Expr, vacuum: Vacuum) -> dict[str, sp.Matrix]:
    """The scalar mass matrices at the vacuum (see the module docstring): ``"even"``,
    ``"odd"``, ``"neutral"`` (complex neutral components without a vev, if any) and
    ``"Q=…"`` for each positive charge, over the components of that charge and the conjugates
    of the components of the opposite charge (a Y = −1 doublet's φ⁻ enters ``"Q=1"`` as φ⁻*).

    Raises :class:`LagnbError` naming the two states when V has a quadratic term outside these
    blocks — CP-even/CP-odd mixing (complex couplings), a φφ mass of a complex field, or a real
    field without a vev mixing with a complex one — since the blocks would then not be the
    mass matrices (rotate by hand, or set the offending couplings)."""
    shifted = vacuum.apply(V)
    complex_vars = [*vacuum.neutral, *(x for xs in vacuum.charged.values() for x in xs)]
    bars = {x: sp.Symbol(f"{x.name}_bar") for x in complex_vars}
    e = shifted.xreplace({sp.conjugate(x): b for x, b in bars.items()})
    variables = [*vacuum.even, *vacuum.odd, *complex_vars, *bars.values()]
    zero = dict.fromkeys(variables, 0)

    def second(a: sp.Symbol, b: sp.Symbol) -> sp.Expr:
        return sp.expand(sp.diff(e, a, b).xreplace(zero))

    covered: set[frozenset[sp.Symbol]] = set()

    def real_block(xs: Sequence[sp.Symbol]) -> sp.Matrix:
        covered.update(frozenset((a, b)) for a in xs for b in xs)
        return sp.Matrix(len(xs), len(xs), lambda i, j: second(xs[i], xs[j]))

    def complex_block(fields: Sequence[tuple[sp.Symbol, sp.Symbol]]) -> sp.Matrix:
        """Over fields given as (variable, variable of its conjugate): ∂²V/∂f_i* ∂f_j."""
        covered.update(frozenset((f[1], g[0])) for f in fields for g in fields)
        return sp.Matrix(len(fields), len(fields), lambda i, j: second(fields[i][1], fields[j][0]))

    out = {"even": real_block(vacuum.even), "odd": real_block(vacuum.odd)}
    if vacuum.neutral:
        out["neutral"] = complex_block([(x, bars[x]) for x in vacuum.neutral])
    for q, xs in vacuum.charged.items():
        if q > 0:
            mirror = vacuum.charged.get(-q, ())
            out[f"Q={q}"] = complex_block(
                [*((x, bars[x]) for x in xs), *((bars[x], x) for x in mirror)]
            )
    for q, xs in vacuum.charged.items():
        if q < 0 and -q not in vacuum.charged:
            out[f"Q={-q}"] = complex_block([(bars[x], x) for x in xs])
    names = {b: f"conjugate({x})" for x, b in bars.items()}
    for k, a in enumerate(variables):
        for b in variables[k:]:
            if frozenset((a, b)) not in covered and second(a, b) != 0:
                raise LagnbError(
                    f"mass_matrices: V has a quadratic term in {names.get(a, a)} and "
                    f"{names.get(b, b)} outside the mass-matrix blocks (CP-even/odd mixing, a "
                    "phi-phi mass or mixing across blocks): rotate by hand, or "
                    "expand_vacuum(..., split=True) for a phi-phi mass of a neutral field"
                )
    return dict(sorted(out.items(), key=lambda kv: _block_order(kv[0])))


def _block_order(name: str) -> tuple[int, Fraction]:
    """even, odd, neutral, then Q=… by charge."""
    fixed = {"even": 0, "odd": 1, "neutral": 2}
    if name in fixed:
        return fixed[name], Fraction(0)
    return 3, Fraction(name.removeprefix("Q="))


def feynman_rule(L: sp.Expr, legs: Sequence[sp.Expr], vacuum: Vacuum) -> sp.Expr:
    """i ∂ⁿℒ/∂leg₁…∂legₙ at the vacuum for a Lagrangian already expanded around it
    (:meth:`Vacuum.apply`); a leg is a fluctuation, a component or ``conjugate(component)``."""
    dummies: dict[sp.Expr, sp.Dummy] = {}
    for k, leg in enumerate(legs):
        dummies.setdefault(leg, sp.Dummy(f"leg{k}"))
    e = L.xreplace(dummies)
    for leg in legs:
        e = sp.diff(e, dummies[leg])
    at = {**vacuum.zero, **dict.fromkeys(dummies.values(), 0)}
    return sp.simplify(sp.I * e.xreplace(at))


def numeric_masses(
    matrices: Mapping[str, sp.Matrix], values: Mapping[sp.Symbol, float], digits: int = 6
) -> dict[str, list[float]]:
    """Per mass matrix, its eigenvalues m² at a numeric point, ascending, rounded to ``digits``
    significant digits relative to the largest (Goldstones come out 0.0).  Raises
    :class:`LagnbError` naming a symbol left without a value."""
    out = {}
    for name, m in matrices.items():
        free = sorted(m.free_symbols - set(values), key=lambda s: s.name)
        if free:
            raise LagnbError(f"no value for {', '.join(map(str, free))} (mass matrix {name!r})")
        num = np.array(m.xreplace(dict(values)).evalf(), dtype=complex)
        eig = np.linalg.eigvalsh((num + num.conj().T) / 2)
        scale = max(abs(eig).max(), 1e-300)
        out[name] = [0.0 if abs(x) < 10**-digits * scale else float(f"{x:.{digits}g}") for x in eig]
    return out
