"""Vacuum, spectrum and Feynman rules in SymPy (lagnb.physics.spectrum) against hand-derived
tree-level results (lagnb's signs: ℒ ⊃ +m² φ†φ + λ (φ†φ)², V = −those terms)."""

import pytest
import sympy as sp

from lagnb import Field, LagnbError, lagrangian
from lagnb.physics import spectrum
from lagnb.physics.symbolic import WeylPair, components, coupling_symbols

H = Field.scalar(su2=2, y=1, name="H")
DELTA = Field.scalar(su2=3, y=2, name=r"\Delta")
L = Field.left(su2=2, y=-1, name="L")
v, vd, kappa = sp.symbols("v v_Delta kappa", positive=True)


def test_sm_higgs_spectrum_and_self_couplings():
    """H = (0, (v + h + iG)/√2): m² = −λv², m_h² = −2λv², G⁰ and G⁺ massless; ℒ ⊃ λ(H†H)²
    gives λ(v + h)⁴/4, so the hhh rule is i·3!·λv and hhhh i·4!·λ/4."""
    lag = lagrangian([H])
    V, c = lag.potential(), coupling_symbols(lag)
    vac = spectrum.expand_vacuum(lag, {"H": v})
    (tad,) = spectrum.tadpoles(V, vac)
    m2 = sp.solve(tad, c["m2_1"])[0]
    assert sp.simplify(m2 + c["lambda_1"] * v**2) == 0
    M = {k: m.subs(c["m2_1"], m2) for k, m in spectrum.mass_matrices(V, vac).items()}
    assert set(M) == {"even", "odd", "Q=1"}
    assert sp.simplify(M["even"][0, 0] + 2 * c["lambda_1"] * v**2) == 0
    assert sp.simplify(M["odd"][0, 0]) == 0 and sp.simplify(M["Q=1"][0, 0]) == 0
    Lv = vac.apply(-V)
    h = vac.even[0]
    assert (
        sp.simplify(spectrum.feynman_rule(Lv, [h, h, h], vac) - 6 * sp.I * c["lambda_1"] * v) == 0
    )
    assert sp.simplify(spectrum.feynman_rule(Lv, [h] * 4, vac) - 6 * sp.I * c["lambda_1"]) == 0


def type_ii():
    lag = lagrangian([L, Field.right(y=-2, name="e"), H, DELTA])
    c = coupling_symbols(lag)
    mu_im = sp.Symbol("mu_1_im", real=True)
    V = lag.potential().subs(mu_im, 0)
    vac = spectrum.expand_vacuum(lag, {"H": v, r"\Delta": vd})
    sol = sp.solve(spectrum.tadpoles(V, vac), [c["m2_1"], c["m2_2"]], dict=True)[0]
    M = {k: sp.simplify(m.subs(sol)) for k, m in spectrum.mass_matrices(V, vac).items()}
    return lag, c, vac, M


def test_type_ii_seesaw_goldstones_and_equal_spacing():
    """Three Goldstones (G⁰, G⁺ and nothing at charge 2), and the triplet states split with
    equal steps in m² when v_Δ → 0 at a fixed triplet mass (μ = κ v_Δ): m²(H⁺⁺) − m²(H⁺) and
    m²(H⁺) − m²(A) both tend to λ v²/4 for the coupling λ of H_r H†ᵖ Δ_ps Δ†ʳˢ (Arhrib et al.,
    PRD 84 (2011) 095005, eq. (2.18)–(2.20), with −λ₄ there)."""
    _, c, _, M = type_ii()
    assert sp.simplify(M["odd"].det()) == 0 and sp.simplify(M["Q=1"].det()) == 0
    assert sp.simplify(M["Q=2"].det()) != 0
    mu = sp.Symbol("mu_1_re", real=True)
    hpp, hp, a = M["Q=2"][0, 0], M["Q=1"].trace(), M["odd"].trace()
    fixed = {mu: kappa * vd}
    for step in (hpp - hp, hp - a):
        assert sp.limit(sp.simplify(step.subs(fixed)), vd, 0) == c["lambda_3"] * v**2 / 4


def test_type_ii_seesaw_neutrino_mass():
    """ℒ ⊃ y εεLLΔ + h.c. at ⟨Δ⁰⟩ = v_Δ/√2: ℒ ⊃ −½ m_ν νν + h.c. with |m_ν| = √2 |y| v_Δ."""
    lag, c, vac, _ = type_ii()
    nu = components(lag)["L"][0]
    L_vac = sp.expand(vac.apply(lag.to_sympy() + lag.potential()))
    m_nu = -2 * L_vac.coeff(WeylPair(nu, nu)).subs(vac.zero)
    y = c["y_2"]
    assert sp.simplify(sp.Abs(m_nu) ** 2 - 2 * y * sp.conjugate(y) * vd**2) == 0


def test_numeric_masses_and_bad_input():
    """By hand: with ⟨H₂⟩ = v/√2, ⟨Δ₃⟩ = v_Δ/√2, the |Δ₁|² terms of V are −m₂²|Δ₁|² − λ₂ v²/2
    − λ₄ v_Δ² (the λ₃ and λ₅ contractions give none), and the tadpole gives −m₂² =
    (λ₂ + λ₃) v²/2 + (λ₄ + λ₅) v_Δ² + μ v²/(√2 v_Δ): m²(H⁺⁺) = λ₃ v²/2 + λ₅ v_Δ² + μ v²/(√2 v_Δ)."""
    _, c, _, M = type_ii()
    point = {v: 246.0, vd: 1.0, sp.Symbol("mu_1_re", real=True): 5.0}
    point |= {c[f"lambda_{k}"]: -0.1 for k in range(1, 6)}
    masses = spectrum.numeric_masses(M, point)
    assert masses["odd"][0] == 0.0 and masses["Q=1"][0] == 0.0
    assert masses["Q=2"][0] == pytest.approx(
        5.0 * 246.0**2 / 2**0.5 - 0.1 * 246.0**2 / 2 - 0.1, rel=1e-5
    )
    with pytest.raises(LagnbError, match="no value for lambda_5"):
        spectrum.numeric_masses(M, {k: x for k, x in point.items() if k != c["lambda_5"]})
    with pytest.raises(LagnbError, match="no field named 'S'"):
        spectrum.expand_vacuum(lagrangian([H]), {"S": v})
