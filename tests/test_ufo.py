"""From a field list to a UFO folder (lagnb.apps.ufo), checked by feynlag's numeric check and
against hand-derived tree-level relations: with H = (0, (v + h)/√2) and lagnb's signs
(ℒ ⊃ y (H†L) e† + h.c. + m² H†H + λ (H†H)² + λ' (H†H)(S†S) + m_S² S†S):

* m_h² = −2λv², M_W = g v/2, M_Z = √(g² + g'²) v/2 (g' the coupling of feynlag's Q = T3 + Y);
* m_e = |y| v/√2 and the h ē e vertex −i m_e/v on both chiralities (the electron rephased so
  that its mass is real and positive);
* m_S² = −m_S² − λ' v²/2 for a scalar that gets no vev.
"""

import re
import warnings

import pytest
import sympy as sp

from lagnb import Field, LagnbError, Symmetry, lagrangian
from lagnb.apps.ufo import UFOError, write_ufo
from lagnb.physics import catalogue

fl = pytest.importorskip("feynlag", reason="feynlag is not installed (pip install lagnb[feynlag])")

LEPTONS_HIGGS = catalogue.get("sm_leptons_higgs").fields
Z2 = Symmetry.z("Z2", 2)
BL = Symmetry.gauged_u1("BL")
S1 = Field.scalar(-3, 1, "2/3", "S_1")
v, lam, lam2, m2s, y, gw, g1 = sp.symbols("v lambda_1 lambda_2 m2_2 y_1_re gw g1", real=True)


def by_name(expr):
    """expr over real symbols named as its own (feynlag's are positive or real)."""
    return expr.xreplace({s: sp.Symbol(s.name, real=True) for s in expr.free_symbols})


def ufo_vertex(path, particles):
    """The coupling names of the UFO vertex with exactly these particles (in order)."""
    text = (path / "vertices.py").read_text()
    for block in text.split("V_")[1:]:
        if f"particles=[{', '.join(particles)}]" in block:
            return re.findall(r"C\.(GC_\d+)", block)
    raise AssertionError(f"no vertex {particles}")


def test_s1_leptoquark_leptons_and_higgs_to_a_ufo_folder(tmp_path):
    """The README's three lines: a field list to a UFO folder that feynlag's check accepts."""
    fields = [*LEPTONS_HIGGS, S1]
    with pytest.warns(UserWarning, match="S_1: vertices with a coloured scalar"):
        out = write_ufo(lagrangian(fields), tmp_path / "S1_UFO", vevs={"H": 246.0})
    assert out.check.ok
    assert {"particles.py", "vertices.py", "couplings.py", "parameters.py"} <= {
        p.name for p in out.path.iterdir()
    }
    assert out.particles == {"h": 25, "Z": 23, "a": 22, "W+": 24, "S1": 9000001, "e": 11, "L_1": 12}
    masses = {k: by_name(m) for k, m in out.masses.items()}
    assert sp.simplify(masses["h"] - (-2 * lam * v**2)) == 0
    assert sp.simplify(masses["W"] - gw**2 * v**2 / 4) == 0
    assert sp.simplify(masses["Z"] - (gw**2 + g1**2) * v**2 / 4) == 0
    assert sp.simplify(masses["e"] - y**2 * v**2 / 2) == 0
    assert sp.simplify(masses["S1"] - (-m2s - lam2 * v**2 / 2)) == 0
    assert masses["L_1"] == 0
    particles = (out.path / "particles.py").read_text()
    assert "name='S1', antiname='S1~', spin=1, color=-3" in particles
    assert "charge=0.3333333333333333" in particles


def test_lepton_higgs_ufo_numbers(tmp_path):
    """At λ = −0.13, y = 0.003, v = 246: m_h = √(2·0.13)·246, m_e = 0.003·246/√2, and the hee
    coupling on both chiralities is −i m_e/v — read back from the UFO by feynlag's check."""
    lag = lagrangian(LEPTONS_HIGGS)
    out = write_ufo(
        lag, tmp_path / "LH", vevs={"H": 246.0}, values={"lambda_1": -0.13, "y_1_re": 0.003}
    )
    params = out.check.parameters
    assert params["Mh"] == pytest.approx((2 * 0.13) ** 0.5 * 246)
    assert params["Me"] == pytest.approx(0.003 * 246 / 2**0.5)
    couplings = ufo_vertex(out.path, ["P.e__tilde__", "P.e", "P.h"])
    assert len(couplings) == 2  # FFSL and FFSR
    for name in couplings:
        assert out.check.couplings[name] == pytest.approx(-1j * params["Me"] / 246)
    # the physics does not depend on the sign of y: the electron is rephased
    neg = write_ufo(
        lag, tmp_path / "LHneg", vevs={"H": 246.0}, values={"lambda_1": -0.13, "y_1_re": -0.003}
    )
    assert neg.check.parameters["Me"] == pytest.approx(params["Me"])
    for name in ufo_vertex(neg.path, ["P.e__tilde__", "P.e", "P.h"]):
        assert neg.check.couplings[name] == pytest.approx(-1j * params["Me"] / 246)


def test_the_ufo_route_refuses_what_it_does_not_automate(tmp_path):
    with pytest.raises(UFOError, match="mixes"):
        write_ufo(lagrangian(catalogue.get("2hdm").fields), tmp_path / "x", vevs={"H_1": 246.0})
    singlet = lagrangian([*LEPTONS_HIGGS, Field.scalar(1, 1, 0, "S")])
    with pytest.raises(UFOError, match="mixes H_2_r and S"):  # h–S mixing through H†H S
        write_ufo(singlet, tmp_path / "x", vevs={"H": 246.0})
    with pytest.raises(UFOError, match=r"coloured fermions \(Q, u, d\)"):
        write_ufo(lagrangian(catalogue.get("sm").fields), tmp_path / "x", vevs={"H": 246.0})
    lag = lagrangian(LEPTONS_HIGGS)
    with pytest.raises(UFOError, match="no field named 'Phi'"):
        write_ufo(lag, tmp_path / "x", vevs={"Phi": 246.0})
    with pytest.raises(UFOError, match="exactly one field"):
        write_ufo(lag, tmp_path / "x", vevs={"H": 246.0, "L": 1.0})
    with pytest.raises(UFOError, match="'L' is a Weyl"):
        write_ufo(lag, tmp_path / "x", vevs={"L": 246.0})
    with pytest.raises(UFOError, match="no parameter 'lam'"):
        write_ufo(lag, tmp_path / "x", vevs={"H": 246.0}, values={"lam": 0.1})
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (Field.scalar(1, 1, 0, "S", real=True, charges={Z2: 1}), "'S' is a real scalar"),
        (Field.scalar(1, 1, 0, "phi", charges={BL: 2}), r"\(phi\): charged under the gauged"),
        (Field.right(1, 1, 0, "N", generations=3), r"\(N\): 3 generations"),
    ],
)
def test_the_ufo_route_refuses_model_building_options_it_does_not_write(tmp_path, extra, needle):
    """Real scalars, gauged U(1)′ charges and several generations: one line naming the field."""
    with pytest.raises(LagnbError, match=needle) as err:
        write_ufo(lagrangian([*LEPTONS_HIGGS, extra]), tmp_path / "x", vevs={"H": 246.0})
    assert "\n" not in str(err.value) and not (tmp_path / "x").exists()


def test_a_charged_singlet_scalar_gets_its_mass_and_higgs_coupling(tmp_path):
    """k ~ (1, 1, 2): m_k² = −m² − λ' v²/2, and the h k k* vertex i·(−λ' v) from
    ℒ ⊃ λ' (H†H) k†k = λ' (v h + …) k†k."""
    lag = lagrangian([*LEPTONS_HIGGS, Field.scalar(1, 1, 2, "k")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = write_ufo(lag, tmp_path / "K", vevs={"H": 246.0}, values={"lambda_2": 0.2})
    assert sp.simplify(by_name(out.masses["k"]) - (-m2s - lam2 * v**2 / 2)) == 0
    (name,) = ufo_vertex(out.path, ["P.h", "P.k", "P.k__tilde__"])
    assert out.check.couplings[name] == pytest.approx(1j * 0.2 * 246)


def readme_block(marker):
    """The README's Python code block that contains ``marker``."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python")[1:]]
    (block,) = [b for b in blocks if marker in b]
    return block


def test_the_readme_goes_from_fields_to_a_ufo_folder_in_three_lines(tmp_path, monkeypatch):
    block = readme_block("write_ufo(")
    lines = [line for line in block.strip().splitlines() if line and not line.startswith("from")]
    assert len(lines) == 3
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="S_1: vertices with a coloured scalar"):
        exec(compile(block, "README.md", "exec"), {})
    assert fl.verify_ufo_numeric(tmp_path / "S1_UFO").ok
    assert "name='S1'" in (tmp_path / "S1_UFO" / "particles.py").read_text()


def test_the_readme_higgs_potential_gives_the_higgs_mass():
    namespace = {}
    exec(compile(readme_block("lag.potential()"), "README.md", "exec"), namespace)
    Vh, h, v = namespace["Vh"], namespace["h"], namespace["v"]
    m2 = sp.solve(sp.diff(Vh, h).subs(h, 0), sp.Symbol("m2_1", real=True))[0]
    assert sp.simplify(
        sp.diff(Vh, h, 2).subs({h: 0}).subs(sp.Symbol("m2_1", real=True), m2)
    ) == sp.simplify(-2 * sp.Symbol("lambda_1", real=True) * v**2)
