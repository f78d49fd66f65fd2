"""The Lagrangian as SymPy (lagnb.physics.symbolic) against hand-derived textbook results.

The potentials of the SM Higgs sector, the 2HDM and the type-II seesaw are written here by hand
in components, in the textbooks' conventions; lagnb's potential must reproduce each for exactly
one choice of its couplings, and the vacuum and masses then follow the textbook formulas.
"""

import pytest
import sympy as sp

from lagnb import Field, lagrangian
from lagnb.errors import LagnbError
from lagnb.physics import catalogue
from lagnb.physics.symbolic import (
    RepresentationError,
    WeylPair,
    component_fields,
    components,
    coupling_symbols,
    potential,
    to_sympy,
)

R = dict(real=True)
v, h, G0 = sp.symbols("v h G0", real=True)


def as_polynomial_variables(expr, fields):
    """expr with conjugate(φ) replaced by an independent symbol φ̄ (for coefficient matching)."""
    bars = {sp.conjugate(f): sp.Symbol(f"{f.name}_bar") for f in fields}
    return sp.expand(expr.xreplace(bars)), [*fields, *bars.values()]


def match(lagnb_v, textbook_v, fields, unknowns):
    """The unique values of lagnb's coupling parts for which lagnb_v == textbook_v identically."""
    diff, variables = as_polynomial_variables(lagnb_v - textbook_v, fields)
    equations = sp.Poly(diff, *variables).coeffs()
    solution = sp.solve(equations, unknowns, dict=True)
    assert len(solution) == 1, solution
    assert set(solution[0]) == set(unknowns), "the textbook potential does not fix every coupling"
    return solution[0]


def coupling_parts(lag):
    return sorted(
        {s for c in coupling_symbols(lag).values() for s in c.free_symbols}, key=lambda s: s.name
    )


def test_sm_higgs_mass_is_minus_two_lambda_v_squared():
    """V = −m² H†H − λ (H†H)² (lagnb's signs: ℒ ⊃ +m² H†H + λ (H†H)²): the tadpole fixes
    m² = −λ v², and m_h² = ∂²V/∂h² = −2 λ v²."""
    lag = lagrangian([Field.scalar(1, 2, 1, "H")])
    (H1, H2) = components(lag)["H"]
    c = coupling_symbols(lag)
    lam, m2 = c["lambda_1"], c["m2_1"]
    V = potential(lag).xreplace({H1: 0, H2: (v + h + sp.I * G0) / sp.sqrt(2)})
    tadpole = sp.solve(sp.diff(V, h).subs({h: 0, G0: 0}), m2)
    assert tadpole == [-lam * v**2]
    mh2 = sp.diff(V, h, 2).subs({h: 0, G0: 0, m2: tadpole[0]})
    assert sp.simplify(mh2 - (-2 * lam * v**2)) == 0
    # the Goldstone is massless
    assert sp.simplify(sp.diff(V, G0, 2).subs({h: 0, G0: 0, m2: tadpole[0]})) == 0


def test_2hdm_charged_higgs_mass():
    """Branco et al. (Phys. Rep. 516 (2012) 1), eq. (2.1) with real m12², λ5 and λ6 = λ7 = 0:
    m_H±² = [m12²/(v1 v2) − (λ4 + λ5)/2] (v1² + v2²)."""
    lag = lagrangian(catalogue.get("2hdm").fields)
    p1, n1, p2, n2 = (c for name in ("H_1", "H_2") for c in components(lag)[name])
    m11, m22, m12, l1, l2, l3, l4, l5 = sp.symbols("m11 m22 m12 l1 l2 l3 l4 l5", real=True)
    H1, H2 = sp.Matrix([p1, n1]), sp.Matrix([p2, n2])

    def dot(a, b):
        return (a.H * b)[0]

    V_text = (
        m11 * dot(H1, H1)
        + m22 * dot(H2, H2)
        - m12 * (dot(H1, H2) + dot(H2, H1))
        + l1 / 2 * dot(H1, H1) ** 2
        + l2 / 2 * dot(H2, H2) ** 2
        + l3 * dot(H1, H1) * dot(H2, H2)
        + l4 * dot(H1, H2) * dot(H2, H1)
        + l5 / 2 * (dot(H1, H2) ** 2 + dot(H2, H1) ** 2)
    )
    V = potential(lag)
    assert len(coupling_parts(lag)) == 14  # 3 masses (1 complex) and 7 quartics (3 complex)
    sol = match(V, V_text, [p1, n1, p2, n2], coupling_parts(lag))
    V = sp.expand(V.xreplace(sol))

    v1, v2 = sp.symbols("v1 v2", positive=True)
    vacuum = {n1: v1 / sp.sqrt(2), n2: v2 / sp.sqrt(2)}
    charged = [p1, p2]
    Vb, variables = as_polynomial_variables(V, charged)
    bars = variables[2:]
    Vb = Vb.xreplace(vacuum)
    # tadpoles of the neutral directions fix m11 and m22
    r1, r2 = sp.symbols("r1 r2", real=True)
    Vn = V.xreplace({p1: 0, p2: 0, n1: (v1 + r1) / sp.sqrt(2), n2: (v2 + r2) / sp.sqrt(2)})
    tad = sp.solve([sp.diff(Vn, r).subs({r1: 0, r2: 0}) for r in (r1, r2)], [m11, m22], dict=True)[
        0
    ]
    M = sp.Matrix(2, 2, lambda i, j: sp.diff(Vb, bars[i], charged[j]))
    M = M.subs({p1: 0, p2: 0, bars[0]: 0, bars[1]: 0}).subs(tad)
    assert sp.simplify(M.det()) == 0  # the charged Goldstone
    expected = (m12 / (v1 * v2) - (l4 + l5) / 2) * (v1**2 + v2**2)
    assert sp.simplify(M.trace() - expected) == 0


def test_type_ii_seesaw_induced_triplet_vev():
    """Arhrib et al. (PRD 84 (2011) 095005), eq. (2.2)–(2.6): Δ = [[δ⁺/√2, δ⁺⁺], [δ⁰, −δ⁺/√2]],
    V ⊃ M_Δ² Tr Δ†Δ + [μ Hᵀ iσ² Δ† H + h.c.] + λ1 H†H Tr Δ†Δ + λ4 H†ΔΔ†H …; minimising in
    v_Δ to first order in v_Δ: ∂V/∂v_Δ = (M_Δ² + (λ1 + λ4) v²/2) v_Δ − μ v²/√2, so
    v_Δ = μ v²/(√2 (M_Δ² + (λ1 + λ4) v²/2)) (iσ² = [[0, 1], [−1, 0]])."""
    lag = lagrangian([Field.scalar(1, 2, 1, "H"), Field.scalar(1, 3, 2, r"\Delta")])
    comps = components(lag)
    hp, h0 = comps["H"]
    d1, d2, d3 = comps[r"\Delta"]
    # lagnb's symmetric-tensor components in terms of the textbook matrix: T = Δ ε gives
    # T11 = −δ⁺⁺, √2 T12 = δ⁺, T22 = δ⁰ (hand-derived, see the module docstring of symbolic)
    dpp, dp, d0 = -d1, d2, d3
    D = sp.Matrix([[dp / sp.sqrt(2), dpp], [d0, -dp / sp.sqrt(2)]])
    H = sp.Matrix([hp, h0])
    mH, MD, mu, lam, l1, l2, l3, l4 = sp.symbols("mH MD mu lam l1 l2 l3 l4", real=True)
    eps = sp.Matrix([[0, 1], [-1, 0]])
    HH = (H.H * H)[0]
    DD = (D.H * D).trace()
    trilinear = (H.T * eps * D.H * H)[0]
    V_text = (
        -mH * HH
        + lam / 4 * HH**2
        + MD * DD
        + (mu * trilinear + sp.conjugate(mu * trilinear))
        + l1 * HH * DD
        + l2 * DD**2
        + l3 * (D.H * D * D.H * D).trace()
        + l4 * (H.H * D * D.H * H)[0]
    )
    V = potential(lag)
    sol = match(V, V_text, [hp, h0, d1, d2, d3], coupling_parts(lag))
    V = sp.expand(V.xreplace(sol))
    vd = sp.Symbol("v_Delta", positive=True)
    Vvac = V.xreplace({hp: 0, d1: 0, d2: 0, h0: v / sp.sqrt(2), d3: vd / sp.sqrt(2)})
    dV = sp.expand(sp.diff(Vvac, vd))
    linear = dV.coeff(vd, 0) + dV.coeff(vd, 1) * vd
    induced = sp.solve(linear, vd)[0]
    assert sp.simplify(induced - mu * v**2 / (sp.sqrt(2) * (MD + (l1 + l4) * v**2 / 2))) == 0


def test_lepton_yukawa_and_reality():
    """ℒ of L, e, H: the Yukawa y (H†L) e† + h.c. in components, and ℒ = ℒ*."""
    lag = lagrangian(catalogue.get("sm_leptons_higgs").fields)
    L = to_sympy(lag)
    assert sp.expand(L - sp.conjugate(L)) == 0
    (L1, L2), (e,), (H1, H2) = components(lag).values()
    y = coupling_symbols(lag)["y_1"]
    yukawa = y * (sp.conjugate(H1) * WeylPair(L1, sp.conjugate(e)))
    yukawa += y * sp.conjugate(H2) * WeylPair(L2, sp.conjugate(e))
    expected = sp.expand(yukawa + sp.conjugate(yukawa))
    assert sp.expand(L + potential(lag) - expected) == 0


def test_triplet_and_quadruplet_charges():
    lag = lagrangian([Field.scalar(1, 3, 2, "T"), Field.scalar(1, 4, 1, "Phi")])
    t, q = component_fields(lag)
    assert [t.charge(w) for w in (1, 2, 3)] == [2, 1, 0]
    assert [q.charge(w) for w in (1, 2, 3, 4)] == [2, 1, 0, -1]


@pytest.mark.parametrize("rep", [6, -6, 8])
def test_untested_colour_representations_are_refused(rep):
    lag = lagrangian([Field.scalar(rep, 1, 0, "X"), Field.scalar(1, 2, 1, "H")])
    with pytest.raises(RepresentationError, match=rf"field 1 \(X\): SU\(3\) representation {rep}"):
        to_sympy(lag)
    assert issubclass(RepresentationError, LagnbError)


REAL_CHECK = {
    **{name: m.fields for name, m in catalogue.CATALOGUE.items()},
    "h_phi4": (Field.scalar(1, 2, 1, "H"), Field.scalar(1, 4, 1, "Phi")),
    "weyl_triplets": (
        Field.left(1, 2, -1, "L"),
        Field.scalar(1, 2, 1, "H"),
        Field.left(1, 3, 0, "Sigma"),
        Field.right(1, 3, 2, "T"),
    ),
}


@pytest.mark.parametrize("name", sorted(REAL_CHECK))
def test_the_lagrangian_is_real_and_every_term_is_there(name):
    """ℒ = ℒ* (WeylPair conjugates to the dotted product), and every derivative-free term
    contributes: a coupling whose derivative of ℒ vanished would be an operator lost."""
    lag = lagrangian(REAL_CHECK[name])
    L = to_sympy(lag)
    assert sp.expand(L - sp.conjugate(L)) == 0
    for coupling in coupling_symbols(lag).values():
        for part in coupling.free_symbols:
            assert sp.diff(L, part) != 0, part
