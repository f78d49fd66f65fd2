"""The SymPy route (issue 13) on issue 12's model-building options, against hand-derived results.

Real scalars are written in components (a real singlet is one real symbol, a real triplet
φ₁ = (−t₁ + i t₂)/√2, φ₂ = t₃, φ₃ = −φ₁*), with their ½ prefactors; Z_N, global and gauged
U(1)′ charges only restrict which terms exist; several generations and what the feynlag file
cannot declare are refused with one line naming the field.

lagnb's conventions (see ``docs/json-schema.md``): ℒ ⊃ +m² H†H + λ (H†H)² + ½ m² S² + …, so
V = −(those terms); the Higgs vev sits in H = (0, (v + h)/√2).
"""

import pytest
import sympy as sp

from lagnb import Field, Symmetry, lagrangian
from lagnb.errors import LagnbError
from lagnb.physics import spectrum
from lagnb.physics.feynlag_source import feynlag_source
from lagnb.physics.symbolic import (
    RepresentationError,
    WeylPair,
    components,
    coupling_symbols,
    potential,
    to_sympy,
)

H = Field.scalar(1, 2, 1, "H")
Z2 = Symmetry.z("Z2", 2)
v, w = sp.symbols("v w", positive=True)


def degrees_in(expr: sp.Expr, x: sp.Symbol) -> set[int]:
    """The powers of ``x`` with which the monomials of ``expr`` occur."""
    return {m.as_powers_dict().get(x, 0) for m in sp.Add.make_args(sp.expand(expr))}


def test_singlet_dark_matter_potential_and_mass_by_hand():
    """Real S, Z2-odd.  By hand, in lagnb's signs:
    V = −m2_1 H†H − λ1 (H†H)² − λ2 H†H S² − λ3 S⁴ − ½ m2_2 S², nothing odd in S.
    With H†H = (v + h)²/2: the tadpole ∂V/∂h = −m2_1 v − λ1 v³ = 0 gives m2_1 = −λ1 v², and
    m_S² = ∂²V/∂S² = −m2_2 − λ2 v²; i.e. m_S² = μ_S² + λ_HS v² for the textbook
    V ⊃ ½ μ_S² S² + λ_HS H†H S² (μ_S² = −m2_2, λ_HS = −λ2)."""
    lag = lagrangian([H, Field.scalar(1, 1, 0, "S", real=True, charges={Z2: 1})])
    (h1, h2), (s,) = components(lag)["H"], components(lag)["S"]
    assert s.is_real and not h1.is_real
    c = coupling_symbols(lag)
    m2_1, m2_2, l1, l2, l3 = (c[k] for k in ("m2_1", "m2_2", "lambda_1", "lambda_2", "lambda_3"))
    HH = h1 * sp.conjugate(h1) + h2 * sp.conjugate(h2)
    by_hand = -m2_1 * HH - l1 * HH**2 - l2 * HH * s**2 - l3 * s**4 - m2_2 * s**2 / 2
    V = potential(lag)
    assert sp.expand(V - by_hand) == 0
    assert degrees_in(V, s) == {0, 2, 4}  # Z2: no S, S³, H†H S
    assert sp.expand(to_sympy(lag) + V) == 0  # no fermions: ℒ = −V

    vac = spectrum.expand_vacuum(lag, {"H": v})
    assert vac.even[-1] == s and len(vac.vevs) == 1  # S is a CP-even state without a vev
    (tad_h, tad_s) = spectrum.tadpoles(V, vac)
    assert sp.expand(tad_h - (-m2_1 * v - l1 * v**3)) == 0 and tad_s == 0
    M = spectrum.mass_matrices(V, vac)["even"].subs(m2_1, -l1 * v**2)
    assert sp.expand(M[1, 1] - (-m2_2 - l2 * v**2)) == 0
    assert M[0, 1] == 0 and sp.expand(M[0, 0] - (-2 * l1 * v**2)) == 0


def test_singlet_without_parity_mixes_with_the_higgs():
    """Real S without Z2 has H†H S and S³ (real couplings μ1, μ2).  By hand, with
    H†H = (v + h)²/2 and S = w + s: ∂²V/∂h∂s = −2 λ2 v w − μ1 v at the vacuum, and the
    S tadpole is ∂V/∂s = −μ1 v²/2 − λ2 v² w − 4 λ3 w³ − 3 μ2 w² − m2_2 w."""
    lag = lagrangian([H, Field.scalar(1, 1, 0, "S", real=True)])
    c = coupling_symbols(lag)
    mu1, mu2, m2_2, l2, l3 = (c[k] for k in ("mu_1", "mu_2", "m2_2", "lambda_2", "lambda_3"))
    V = potential(lag)
    assert degrees_in(V, components(lag)["S"][0]) == {0, 1, 2, 3, 4}
    vac = spectrum.expand_vacuum(lag, {"H": v, "S": w})
    _, tad_s = spectrum.tadpoles(V, vac)
    expected = -mu1 * v**2 / 2 - l2 * v**2 * w - 4 * l3 * w**3 - 3 * mu2 * w**2 - m2_2 * w
    assert sp.expand(tad_s - expected) == 0
    M = spectrum.mass_matrices(V, vac)["even"]
    assert M.shape == (2, 2) and "odd" in spectrum.mass_matrices(V, vac)
    assert spectrum.mass_matrices(V, vac)["odd"].shape == (1, 1)  # only the Higgs' G0
    assert sp.expand(M[0, 1] - (-2 * l2 * v * w - mu1 * v)) == 0


def test_real_triplet_matches_the_textbook_potential():
    """A real triplet t (Y = 0) with Σ = t·σ:
    V = μ² H†H + λ (H†H)² + ½ M² t·t + κ H†Σ H + λ_HT H†H t·t + λ_T (t·t)²
    (H†Σ H ⊃ (t₁ − i t₂) H₁* H₂: φ₁ = (−t₁ + i t₂)/√2 has charge +1).  lagnb's potential in its
    basis φ₁ = (−t₁ + i t₂)/√2, φ₂ = t₃ must equal it for exactly one choice of its couplings,
    and by hand the T⁺ diagonal entry of the charge-1 mass matrix at t = 0 is M² + λ_HT v²
    (κ mixes it with the Goldstone H₁ only off the diagonal)."""
    lag = lagrangian([H, Field.scalar(1, 3, 0, "T", real=True)])
    (h1, h2), (p1, p2) = components(lag)["H"], components(lag)["T"]
    assert p2.is_real and not p1.is_real
    t1, t2, t3 = sp.symbols("t1 t2 t3", real=True)
    mu2, lam, M2, kappa, lHT, lT = sp.symbols("mu2 lam M2 kappa lHT lT", real=True)
    Hv = sp.Matrix([h1, h2])
    sigma = sp.Matrix([[t3, t1 - sp.I * t2], [t1 + sp.I * t2, -t3]])
    HH = (Hv.H * Hv)[0]
    tt = t1**2 + t2**2 + t3**2
    textbook = (
        mu2 * HH
        + lam * HH**2
        + M2 * tt / 2
        + kappa * (Hv.H * sigma * Hv)[0]
        + lHT * HH * tt
        + lT * tt**2
    )
    V = potential(lag).xreplace({p1: (-t1 + sp.I * t2) / sp.sqrt(2), p2: t3})
    bars = {sp.conjugate(h1): sp.Symbol("h1b"), sp.conjugate(h2): sp.Symbol("h2b")}
    diff = sp.expand((V - textbook).xreplace(bars))
    unknowns = sorted(coupling_symbols(lag).values(), key=str)
    eqs = sp.Poly(diff, h1, h2, *bars.values(), t1, t2, t3).coeffs()
    (sol,) = sp.solve(eqs, unknowns, dict=True)
    assert set(sol) == set(unknowns)
    # the charged triplet state at t = 0 (no triplet vev): V ⊃ (M² + λ_HT v²) |φ₁|²
    Vs = sp.expand(potential(lag).xreplace(sol))
    vac = spectrum.expand_vacuum(lag, {"H": v})
    assert p2 in vac.even  # the real neutral component is a CP-even state
    block = spectrum.mass_matrices(Vs, vac)["Q=1"]
    assert vac.charged[1] == (h1, p1)
    assert sp.expand(block[1, 1] - (M2 + lHT * v**2)) == 0


def test_extra_u1_and_zn_charges_change_only_which_terms_exist():
    """A gauged U(1)′ (B − L, charge 2) scalar φ: V = −m2 φ*φ − λ (φ*φ)² − λ' H†H φ*φ − …
    by hand; the kinetic mixing has derivatives and is not part of to_sympy."""
    BL = Symmetry.gauged_u1("BL")
    lag = lagrangian([H, Field.scalar(1, 1, 0, "phi", charges={BL: 2})])
    assert lag.by_kind("kinetic_mixing")
    (h1, h2), (phi,) = components(lag)["H"], components(lag)["phi"]
    c = coupling_symbols(lag)
    HH = h1 * sp.conjugate(h1) + h2 * sp.conjugate(h2)
    PP = phi * sp.conjugate(phi)
    by_hand = -(
        c["m2_1"] * HH
        + c["m2_2"] * PP
        + c["lambda_1"] * HH**2
        + c["lambda_2"] * HH * PP
        + c["lambda_3"] * PP**2
    )
    assert sp.expand(potential(lag) - by_hand) == 0
    assert lag.to_json()["terms"][8]["coupling"]["name"] == "epsilon_1"


@pytest.mark.parametrize("call", [to_sympy, potential, components])
def test_scalar_generations_are_refused_in_one_line(call):
    """Two generations of a doublet: its hermitian flavour couplings (m²_IJ, the quartic
    tensors) are not written in components."""
    lag = lagrangian([Field.scalar(1, 2, 1, "H", generations=2)])
    with pytest.raises(RepresentationError) as err:
        call(lag)
    message = str(err.value)
    assert "\n" not in message and "field 1 (H): 2 generations of a scalar" in message
    with pytest.raises(RepresentationError, match=r"field 1 \(H\): 2 generations"):
        spectrum.expand_vacuum(lag, {"H": v})


L3 = Field.left(1, 2, -1, "L", generations=3)
N3 = Field.right(1, 1, 0, "N", generations=3)


def test_type_i_seesaw_majorana_mass_is_a_symmetric_matrix():
    """ℒ ⊃ −M_IJ N_I N_J + h.c. (lagnb's sign for a fermion mass, no ½): M is a symmetric
    complex 3×3 matrix, 6 entries = 12 real parameters; in components the sum over I, J gives
    each N_1 N_2 pair twice, so by hand its coefficient is −2 M_12 and that of N_1 N_1 is
    −M_11 (the one-generation term is −M (N N) + h.c.)."""
    lag = lagrangian([L3, H, N3])
    M = coupling_symbols(lag)["M_1"]
    assert M.shape == (3, 3) and M == M.T
    parts = {s for x in M for s in x.free_symbols}
    assert len(parts) == 12 and len(set(M)) == 6
    n1, n2, n3 = (sp.conjugate(x) for x in components(lag)["N"])  # right-handed: N† N†
    L_ = to_sympy(lag)
    assert sp.expand(L_ - sp.conjugate(L_)) == 0
    assert sp.expand(L_.coeff(WeylPair(n1, n2)) + 2 * M[0, 1]) == 0
    assert sp.expand(L_.coeff(WeylPair(n1, n1)) + M[0, 0]) == 0
    assert sp.expand(L_.coeff(WeylPair(n2, n3)) + 2 * M[1, 2]) == 0
    one = lagrangian([Field.left(1, 2, -1, "L"), H, Field.right(1, 1, 0, "N")])
    n = sp.conjugate(components(one)["N"][0])
    m = coupling_symbols(one)["M_1"]
    assert sp.expand(to_sympy(one).coeff(WeylPair(n, n)) + m) == 0


def test_type_i_seesaw_yukawa_entry_by_entry():
    """y_IJ L_I H N_J†: a general complex 3×3 matrix (9 entries, 18 real parameters); keeping
    only y_23, the term is the one-generation Yukawa (hand-checked in test_symbolic) of L_2 and
    N_3."""
    lag = lagrangian([L3, H, N3])
    y = coupling_symbols(lag)["y_1"]
    assert y.shape == (3, 3) and len({s for x in y for s in x.free_symbols}) == 18
    only_23 = {s: 0 for x in y for s in x.free_symbols if not s.name.startswith("y_1_23")}
    only_23 |= {s: 0 for x in coupling_symbols(lag)["M_1"] for s in x.free_symbols}
    three = sp.expand(to_sympy(lag).xreplace(only_23) + potential(lag))
    one = lagrangian([Field.left(1, 2, -1, "L"), H, Field.right(1, 1, 0, "N")])
    c1 = coupling_symbols(one)
    (l1, l2), (nn,) = components(one)["L"], components(one)["N"]
    rename = {
        l1: components(lag)["L"][2],
        l2: components(lag)["L"][3],
        nn: components(lag)["N"][2],
        sp.Symbol("y_1_re", real=True): sp.Symbol("y_1_23_re", real=True),
        sp.Symbol("y_1_im", real=True): sp.Symbol("y_1_23_im", real=True),
    }
    mass = {s: 0 for s in c1["M_1"].free_symbols}
    expected = sp.expand((to_sympy(one) + potential(one)).xreplace(mass).xreplace(rename))
    assert three == expected != 0


def test_zee_coupling_is_antisymmetric_in_flavour():
    """f_IJ ε^{ab} L_Ia L_Jb h⁺ with L = (ν, e): ε(L_I L_J) = ν_I e_J − e_I ν_J, so by hand
    Σ f_IJ ε(L_I L_J) = 2 Σ f_IJ ν_I e_J with f antisymmetric: no ν_1 e_1 term, and the
    ν_1 e_2 and ν_2 e_1 coefficients are opposite, ±2 f_12 h⁺ (one ε sign convention)."""
    hp = Field.scalar(1, 1, 2, "h")
    lag = lagrangian([L3, hp])
    f = coupling_symbols(lag)["y_1"]
    assert f == -f.T and all(f[i, i] == 0 for i in range(3))
    nu1, e1, nu2, e2, *_ = components(lag)["L"]
    (h,) = components(lag)["h"]
    L_ = sp.expand(to_sympy(lag))
    assert L_.coeff(WeylPair(nu1, e1)) == 0
    c12, c21 = L_.coeff(WeylPair(nu1, e2)), L_.coeff(WeylPair(nu2, e1))
    assert sp.expand(c12 + c21) == 0
    assert sp.expand(c12 - 2 * f[0, 1] * h) == 0 or sp.expand(c12 + 2 * f[0, 1] * h) == 0


def test_fermion_generations_leave_the_higgs_spectrum_alone():
    """The SM lepton sector with three generations: V is the Higgs potential, m_h² = −2λv²."""
    lag = lagrangian([L3, Field.right(1, 1, -2, "e", generations=3), H])
    c = coupling_symbols(lag)
    V = potential(lag)
    vac = spectrum.expand_vacuum(lag, {"H": v})
    (tad,) = spectrum.tadpoles(V, vac)
    M = spectrum.mass_matrices(V.subs(c["m2_1"], -c["lambda_1"] * v**2), vac)
    assert sp.expand(tad.subs(c["m2_1"], -c["lambda_1"] * v**2)) == 0
    assert sp.expand(M["even"][0, 0] + 2 * c["lambda_1"] * v**2) == 0


@pytest.mark.parametrize(
    ("field", "needle"),
    [
        (
            Field.scalar(1, 1, 0, "phi", charges={Symmetry.gauged_u1("BL"): 2}),
            r"field 2 \(phi\): charged under the gauged U\(1\)′ BL",
        ),
        (Field.right(1, 1, 0, "N", generations=3), r"field 2 \(N\): 3 generations"),
    ],
)
def test_the_feynlag_file_refuses_what_it_cannot_declare(field, needle):
    """A gauged U(1)′ charge (no covariant derivative for it) and several generations; real
    scalars are declared (checked by feynlag in test_feynlag_export)."""
    with pytest.raises(LagnbError, match=needle) as err:
        feynlag_source(lagrangian([H, field]))
    assert "\n" not in str(err.value)


def test_global_and_discrete_charges_export_as_they_are():
    """A Z2-odd complex singlet and a global-U(1) one: the file is the one without charges,
    less the terms the symmetries forbid."""
    U = Symmetry.global_u1("L")
    plain = feynlag_source(lagrangian([H, Field.scalar(1, 1, 0, "S")]))
    odd = feynlag_source(lagrangian([H, Field.scalar(1, 1, 0, "S", charges={Z2: 1, U: 1})]))
    assert "mu_1" in plain and "mu_1" not in odd  # H†H S + h.c. is forbidden
    assert "f_S = fl.Scalar" in odd


def test_a_negative_charge_enters_the_positive_block_as_its_conjugate():
    """A doublet of Y = −1, φ = (φ⁰, φ⁻), with ⟨φ⁰⟩ = v/√2: V = −m2 φ†φ − λ (φ†φ)² as for the
    SM Higgs, so by hand V ⊃ (−m2 − λ v²) |φ⁻|² — the Goldstone once the tadpole sets
    m2 = −λ v² — in the block ``"Q=1"`` as the state φ⁻*."""
    lag = lagrangian([Field.scalar(1, 2, -1, "Phi")])
    c = coupling_symbols(lag)
    V = potential(lag)
    vac = spectrum.expand_vacuum(lag, {"Phi": v})
    M = spectrum.mass_matrices(V, vac)
    assert list(M) == ["even", "odd", "Q=1"]
    assert sp.expand(M["Q=1"][0, 0] - (-c["m2_1"] - c["lambda_1"] * v**2)) == 0


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        # a complex singlet has m² φφ + h.c.: no Hermitian block holds it
        ([Field.scalar(1, 1, 0, "phi")], "phi"),
        # a real singlet mixes with a complex one through m² φ S + h.c.
        ([Field.scalar(1, 1, 0, "S", real=True), Field.scalar(1, 1, 0, "phi")], "phi"),
    ],
)
def test_quadratic_terms_outside_the_blocks_are_refused(fields, needle):
    lag = lagrangian(fields)
    vac = spectrum.expand_vacuum(lag, {})
    with pytest.raises(LagnbError, match="outside the mass-matrix blocks") as err:
        spectrum.mass_matrices(potential(lag), vac)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_complex_couplings_that_mix_cp_even_and_odd_are_refused():
    """The type-II seesaw with a complex μ: μ_im mixes CP-even and CP-odd neutral states, so
    separate even/odd blocks would be wrong; with μ_im = 0 the blocks are the mass matrices."""
    lag = lagrangian([H, Field.scalar(1, 3, 2, "Delta")])
    vac = spectrum.expand_vacuum(lag, {"H": v, "Delta": w})
    V = potential(lag)
    with pytest.raises(LagnbError, match="outside the mass-matrix blocks"):
        spectrum.mass_matrices(V, vac)
    assert set(spectrum.mass_matrices(V.subs(sp.Symbol("mu_1_im", real=True), 0), vac)) == {
        "even",
        "odd",
        "Q=1",
        "Q=2",
    }


def test_inert_doublet_neutral_splitting_by_hand():
    """Inert doublet η (Y = 1, Z2-odd): lagnb's ℒ ⊃ λ (H†η)² + h.c. (δ contractions: two upper
    H† and two lower η indices admit no ε).  With H = (0, v/√2) and η⁰ = (r + i a)/√2,
    (H†η)² = v² (r + i a)²/4, so V ⊃ −(v²/2)[λ_re (r² − a²) − 2 λ_im r a]: with λ_im = 0,
    m_r² − m_a² = −2 λ_re v² (the textbook λ5 v² for V ⊃ (λ5/2)[(H†η)² + h.c.], λ5 = −2 λ_re);
    λ_im ≠ 0 mixes r and a, which the blocks refuse; without split the η⁰η⁰ term is refused."""
    eta = Field.scalar(1, 2, 1, "eta", charges={Z2: 1})
    lag = lagrangian([H, eta])
    (quartic,) = [
        k
        for k, t in enumerate(lag.terms)
        if not t.hermitian and sorted(f.conjugate for f in t.field_factors) == [0, 0, 1, 1]
    ]
    lam = lag.to_json()["terms"][quartic]["coupling"]["name"]
    re, im = sp.symbols(f"{lam}_re {lam}_im", real=True)
    V = potential(lag)
    with pytest.raises(LagnbError, match="split=True"):
        spectrum.mass_matrices(V, spectrum.expand_vacuum(lag, {"H": v}))
    vac = spectrum.expand_vacuum(lag, {"H": v}, split=True)
    with pytest.raises(LagnbError, match="outside the mass-matrix blocks"):
        spectrum.mass_matrices(V, vac)
    M = spectrum.mass_matrices(V.subs(im, 0), vac)
    assert set(M) == {"even", "odd", "Q=1"}
    assert [x.name for x in (*vac.even, *vac.odd)] == ["H_2_r", "eta_2_r", "H_2_i", "eta_2_i"]
    assert M["even"][0, 1] == 0 and M["odd"][0, 1] == 0  # Z2: no h–η mixing
    assert sp.expand(M["even"][1, 1] - M["odd"][1, 1] + 2 * re * v**2) == 0
