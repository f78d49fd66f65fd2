"""The feynlag export (lagnb.physics.feynlag_source, written by lagnb.apps.export) checked by feynlag itself: every exported
term is gauge invariant under feynlag's own generators, the potential is hermitian, and the
exported operators are linearly independent (rank = number of lagnb terms)."""

import runpy

import numpy as np
import pytest
import sympy as sp

from lagnb import Field, Symmetry, lagrangian
from lagnb.apps.export import write_feynlag
from lagnb.physics import catalogue
from lagnb.physics.feynlag_source import feynlag_source
from lagnb.physics.symbolic import RepresentationError, couplings

fl = pytest.importorskip("feynlag", reason="feynlag is not installed (pip install lagnb[feynlag])")

H_PHI4 = (Field.scalar(1, 2, 1, "H"), Field.scalar(1, 4, 1, r"\Phi"))
FERMION_TRIPLETS = (
    Field.left(1, 2, -1, "L"),
    Field.scalar(1, 2, 1, "H"),
    Field.left(1, 3, 0, r"\Sigma"),
    Field.right(1, 3, 2, "T"),
)
"""Weyl triplets (type-III seesaw Σ and a hypercharged one): the Cartesian legs of feynlag's
adjoint inside Dirac and Majorana bilinears."""
Z2 = Symmetry.z("Z2", 2)
REAL_SCALARS = {
    # singlet dark matter: a Z2-odd real S (½ m² S², ½ (D S)², S⁴, H†H S²)
    "singlet_dm": (
        Field.scalar(1, 2, 1, "H"),
        Field.scalar(1, 1, 0, "S", real=True, charges={Z2: 1}),
    ),
    # without the parity: odd powers S³, H†H S
    "real_singlet": (Field.scalar(1, 2, 1, "H"), Field.scalar(1, 1, 0, "S", real=True)),
    # a real triplet: lagnb's φ₁, φ₂ = (−X₁ + iX₂)/√2, X₃ in feynlag's real adjoint components
    "real_triplet": (Field.scalar(1, 2, 1, "H"), Field.scalar(1, 3, 0, "T", real=True)),
}
"""Real scalars (issue 12): feynlag checks each term's gauge invariance in lagnb's documented
real basis and the ½ of the kinetic term's prefactor."""
MODELS = {
    **REAL_SCALARS,
    "sm_leptons_higgs": catalogue.get("sm_leptons_higgs").fields,
    "2hdm": catalogue.get("2hdm").fields,
    "sm_triplet": catalogue.get("sm_triplet").fields,
    "h_phi4": H_PHI4,
    "fermion_triplets": FERMION_TRIPLETS,
    "sm": catalogue.get("sm").fields,
    "sm_leptoquark_s1": catalogue.get("sm_leptoquark_s1").fields,
}
SLOW = {"sm", "sm_leptoquark_s1", "sm_triplet"}
"""Models whose SU(3) or triplet kinetic terms take feynlag 10–30 s to check on one core."""


def load(fields, tmp_path):
    lag = lagrangian(fields)
    path = write_feynlag(lag, tmp_path / "model.py")
    with pytest.warns() if "MajoranaBilinear(" in path.read_text() else _nothing():
        return lag, runpy.run_path(str(path))


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def operators(lag, ns):
    """The exported operator O of each derivative-free term: ∂ℒ/∂c for a real coupling c,
    (∂/∂c_re − i ∂/∂c_im)/2 for a complex one."""
    out = []
    for (_, _, expr), c in zip(
        [t for t in ns["TERMS"] if lag.terms[t[0] - 1].derivatives == 0],
        [c for t, c in zip(lag.terms, couplings(lag)) if t.derivatives == 0],
    ):
        parts = [ns[p.name].s for p in c.parts]
        if len(parts) == 1:
            out.append(sp.diff(expr, parts[0]))
        else:
            out.append(sp.expand((sp.diff(expr, parts[0]) - sp.I * sp.diff(expr, parts[1])) / 2))
    return out


def numeric_rank(exprs, points=None):
    """Rank over ℂ of expressions evaluated at random values of their fields, bilinears and
    conjugate fields (each an independent random number)."""
    nodes = set()
    for e in exprs:
        nodes |= e.atoms(fl.Bilinear, fl.MajoranaBilinear)
        nodes |= {c for c in e.atoms(sp.conjugate) if not c.has(fl.Bilinear, fl.MajoranaBilinear)}
        nodes |= {s for s in e.free_symbols if s.name != "i"}
    nodes = sorted(nodes, key=sp.default_sort_key)
    rng = np.random.default_rng(7)
    k = points or len(exprs) + 5
    rows = []
    fns = [
        sp.lambdify(
            [sp.Symbol(f"z{j}") for j in range(len(nodes))],
            e.xreplace({n: sp.Symbol(f"z{j}") for j, n in enumerate(nodes)}),
        )
        for e in exprs
    ]
    values = rng.normal(size=(k, len(nodes))) + 1j * rng.normal(size=(k, len(nodes)))
    for f in fns:
        rows.append([complex(f(*v)) for v in values])
    return np.linalg.matrix_rank(np.array(rows), tol=1e-9 * np.abs(rows).max())


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in MODELS]
)
def test_every_exported_term_is_gauge_invariant_and_independent(name, tmp_path):
    lag, ns = load(MODELS[name], tmp_path)
    model = ns["model"]
    numbers = [t[0] for t in ns["TERMS"]]
    # every term but the gauge kinetic ones (feynlag's Yang–Mills) is exported
    assert numbers == [k + 1 for k, t in enumerate(lag.terms) if t.kind != "gauge_kinetic"]
    for number, _, expr in ns["TERMS"]:
        assert expr != 0, number
        for group in model.gauge_groups:
            ok, violations = fl.check_gauge_invariance(expr, model.fields, group)
            assert ok, (number, group.name, violations[:1])
    ok, residual = fl.check_hermiticity(model.lagrangian.sector("potential"))
    assert ok, residual
    ops = operators(lag, ns)
    assert numeric_rank(ops) == len(ops) == sum(t.derivatives == 0 for t in lag.terms)


def test_a_dropped_term_breaks_independence_or_a_wrong_charge_breaks_invariance(tmp_path):
    """The checks above can fail: a duplicated operator lowers the rank, and a field exported
    with the wrong hypercharge fails feynlag's invariance check."""
    lag, ns = load(MODELS["2hdm"], tmp_path)
    ops = operators(lag, ns)
    assert numeric_rank([*ops, ops[0] + 2 * ops[-1]]) == len(ops)
    text = feynlag_source(lag).replace("U1Y: Rational(1, 2)}", "U1Y: Rational(1, 3)}", 1)
    (tmp_path / "bad.py").write_text(text)
    bad = runpy.run_path(str(tmp_path / "bad.py"))
    u1 = bad["U1Y"]
    results = [
        fl.check_gauge_invariance(e, bad["model"].fields, u1)[0]
        for _, s, e in bad["TERMS"]
        if s == "potential"
    ]
    assert not all(results)


def test_hypercharge_is_halved_and_majorana_terms_warn():
    text = feynlag_source(lagrangian(catalogue.get("sm_leptoquark_s1").fields))
    assert 'f_H = fl.Scalar("H", reps={SU2L: 2, U1Y: Rational(1, 2)}' in text
    assert 'f_S1 = fl.Scalar("S1", reps={SU3c: -3, U1Y: Rational(1, 3)}' in text
    assert "feynlag's UFO writer cannot export it" in text


def test_colour_sextet_and_octet_are_refused():
    with pytest.raises(RepresentationError, match=r"field 1 .*SU\(3\) representation 8"):
        feynlag_source(lagrangian([Field.scalar(8, 1, 0, "G8")]))


def test_lepton_higgs_through_feynlag_vacuum_masses_and_hee():
    """Hand-derived for ℒ ⊃ y (H†L) e† + h.c. + m² H†H + λ (H†H)² with H = (0, (v + h + iG)/√2):
    the tadpole gives m² = −λ v², m_h² = −2 λ v², and the h ē P_L e vertex is y/√2 (m_e = y v/√2);
    feynlag computes each from the exported model."""
    from lagnb.apps.export import feynlag_namespace

    ns = feynlag_namespace(lagrangian(catalogue.get("sm_leptons_higgs").fields))
    model, H = ns["model"], ns["f_H"]
    v = fl.ExternalParameter("v", 246.0, unit_dim=1)
    H.expand_vev({ns["H_2"]: v})
    lam, m2 = ns["lambda_1"].s, ns["m2_1"].s
    assert model.solve_tadpoles([m2]) == {m2: -lam * v.s**2}
    _, h, G0 = H.vev_expansions[ns["H_2"]]
    assert sp.simplify(model.mass_matrix([h])[0, 0] + 2 * lam * v.s**2) == 0
    y = ns["y_1_re"].s + sp.I * ns["y_1_im"].s
    table = fl.extract_fermion_vertices(model.physical_lagrangian("yukawa"), [h, G0])
    i = ns["i"]
    key = (ns["ebar"][i], fl.diracPL, ns["L_2"][i])
    assert sp.simplify(table[key][1][(h,)] - y / sp.sqrt(2)) == 0
    assert sp.simplify(table[key][0][()] - y * v.s / sp.sqrt(2)) == 0


def test_a_real_triplet_takes_its_vev_on_x3(tmp_path):
    """The real triplet's neutral component is the real X₃ (φ₂ = X₃): the vacuum stub expands
    it directly, and feynlag shifts it as X₃ → v + X₃ (no 1/√2 for a real field)."""
    lag, ns = load(REAL_SCALARS["real_triplet"], tmp_path)
    text = feynlag_source(lag)
    assert "# f_T.expand_vev({T_x3: v_T_x3})" in text
    f_T, x3 = ns["f_T"], ns["T_x3"]
    v = sp.Symbol("v", positive=True)
    f_T.expand_vev({x3: v})
    assert f_T.shift_map == {x3: v + x3}
