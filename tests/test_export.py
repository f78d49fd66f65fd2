"""The structured JSON (schema version 2) and the ``lagnb export`` command."""

import json
import sys
from fractions import Fraction

import pytest

from lagnb import Field, Symmetry, lagrangian
from lagnb.cli import main
from lagnb.physics import catalogue
from lagnb.physics.contractions import Atom
from lagnb.physics.flavour import Flavour
from lagnb.physics.terms import SCHEMA_VERSION, Commutator, Derivative, FieldFactor, SigmaBar, Term

HIGGS = "FIELD SPIN 0 SU2 2 U1 1"
LEPTONS_HIGGS = "FIELD SPIN 1/2 SU2 2 U1 -1 HEL -1/2 FIELD SPIN 1/2 U1 -2 HEL 1/2 " + HIGGS
S1 = LEPTONS_HIGGS + " FIELD SPIN 0 SU3 -3 U1 2/3"
HIGGS_FIELD = Field.scalar(1, 2, 1, "H")
BL = Symmetry.gauged_u1("BL")


def term_from_json(data):
    """A Term rebuilt from its JSON alone (no tokens parsed)."""
    factors = []
    for f in data["factors"]:
        kind = f["type"]
        if kind == "field":
            factors.append(FieldFactor(f["field"], f["conjugate"]))
        elif kind == "derivative":
            factors.append(Derivative(f["field"]))
        elif kind == "sigma_bar":
            factors.append(SigmaBar())
        else:
            factors.append(Commutator(f["part"], f["group"]))
    kinds = {"upper": "u", "lower": "d", None: ""}
    atoms = tuple(
        Atom(a["group"], tuple((s["factor"], kinds[s["index"]]) for s in a["slots"]))
        for a in data["contractions"]
    )
    flavour = data.get("flavour")
    return Term(
        data["kind"],
        tuple(factors),
        atoms,
        not data["hermitian_conjugate_added"],
        data["sign"],
        data["imaginary"],
        Fraction(data.get("prefactor", "1")),
        None
        if flavour is None
        else Flavour(
            tuple(flavour["generations"]),
            tuple((tuple(g["factors"]), tuple(g["young"])) for g in flavour["symmetry"]),
            flavour["components"],
            flavour["real_parameters"],
        ),
    )


def fields_from_json(data):
    """The field list rebuilt from the JSON alone: quantum numbers, ``real``, ``generations``
    and ``charges`` under the declared ``symmetries``."""
    syms = {
        s["name"]: Symmetry(s["name"], s["kind"], s.get("order", 0))
        for s in data.get("symmetries", [])
    }
    return tuple(
        Field(
            Fraction(f["spin"]),
            f["su3"],
            f["su2"],
            Fraction(f["hypercharge"]),
            None if f["helicity"] is None else Fraction(f["helicity"]),
            f["name"],
            real=f.get("real", False),
            generations=f.get("generations", 1),
            charges={syms[n]: Fraction(q) for n, q in f.get("charges", {}).items()},
        )
        for f in data["fields"]
    )


@pytest.mark.parametrize("name", ["sm", "sm_leptoquark_s1", "sm_triplet", "2hdm"])
def test_every_term_rebuilds_from_its_json(name):
    lag = lagrangian(catalogue.get(name).fields)
    data = json.loads(lag.json())
    assert data["schema"] == "lagnb.lagrangian" and data["schema_version"] == SCHEMA_VERSION == 2
    assert [term_from_json(t) for t in data["terms"]] == list(lag.terms)


Z2 = Symmetry.z("Z2", 2)
MODELS = {
    # singlet dark matter: a Z2-odd real scalar (½ m² S², ½ (∂S)²)
    "singlet_dm": [HIGGS_FIELD, Field.scalar(1, 1, 0, "S", real=True, charges={Z2: 1})],
    # a real triplet without parity (odd powers, ε-raised indices of a real field)
    "real_triplet": [HIGGS_FIELD, Field.scalar(1, 3, 0, "T", real=True)],
    # type-I seesaw with three right-handed neutrinos and a lepton number (flavour structures)
    "seesaw": [
        Field.left(1, 2, -1, "L", generations=3, charges={Symmetry.global_u1("Lep"): 1}),
        HIGGS_FIELD,
        Field.right(1, 1, 0, "N", generations=3),
    ],
    # a gauged B − L: the U(1)′ kinetic term and the kinetic mixing ε
    "b_minus_l": [HIGGS_FIELD, Field.scalar(1, 1, 0, "phi", charges={BL: 2})],
}


@pytest.mark.parametrize("name", MODELS)
def test_model_building_options_rebuild_from_json(name):
    """Issue 12's fields (real, generations, charges) and terms (prefactor, flavour) come back
    from the JSON alone, and rebuild the same Lagrangian."""
    lag = lagrangian(MODELS[name])
    data = json.loads(lag.json())
    assert data["schema_version"] == SCHEMA_VERSION
    fields = fields_from_json(data)
    assert fields == tuple(lag.fields) and [f.name for f in fields] == lag.names
    assert [term_from_json(t) for t in data["terms"]] == list(lag.terms)
    assert lagrangian(fields).terms == lag.terms


def test_model_building_keys_in_json():
    data = lagrangian(MODELS["seesaw"]).to_json()
    assert data["symmetries"] == [{"name": "Lep", "kind": "global"}]
    assert data["fields"][0]["generations"] == 3 and data["fields"][0]["charges"] == {"Lep": "1"}
    (majorana,) = [t for t in data["terms"] if t["coupling"] and t["coupling"]["name"] == "M_1"]
    # N N: a symmetric 3×3 complex matrix, 6 complex entries = 12 real parameters
    assert majorana["flavour"] == {
        "generations": [3, 3],
        "symmetry": [{"factors": [0, 1], "young": [2]}],
        "components": 6,
        "real_parameters": 12,
    }
    dm = lagrangian(MODELS["singlet_dm"]).to_json()
    assert dm["symmetries"] == [{"name": "Z2", "kind": "Z", "order": 2}]
    assert dm["fields"][1]["real"] is True
    assert [t.get("prefactor") for t in dm["terms"] if t["kind"] == "mass"] == [None, "1/2"]
    bl = lagrangian(MODELS["b_minus_l"]).to_json()
    (mixing,) = [t for t in bl["terms"] if t["kind"] == "kinetic_mixing"]
    assert mixing["prefactor"] == "1/2" and mixing["sign"] == "-"
    assert mixing["coupling"]["name"] == "epsilon_1"
    assert "symmetries" not in lagrangian(catalogue.get("sm").fields).to_json()


def test_couplings_in_json():
    data = lagrangian(catalogue.get("sm_leptons_higgs").fields).to_json()
    couplings = [t["coupling"] for t in data["terms"]]
    assert couplings[0] == {
        "name": "y_1",
        "latex": "y_{1}",
        "complex": True,
        "sign": "+",
        "normalisation": 1,
        "mass_dimension": 0,
    }
    names = [(c["name"], c["complex"]) if c else None for c in couplings]
    assert names == [
        ("y_1", True),
        ("lambda_1", False),
        None,
        None,
        None,
        None,
        None,
        ("m2_1", False),
    ]


def test_higgs_quartic_contractions_as_data():
    """(H†H)²: two SU(2) δs, each joining a conjugate H (upper index) to an H (lower)."""
    data = lagrangian(HIGGS).to_json()
    quartic = next(t for t in data["terms"] if t["kind"] == "quartic")
    conj = {k for k, f in enumerate(quartic["factors"]) if f["conjugate"]}
    for atom in quartic["contractions"]:
        assert atom["group"] == "SU2" and atom["tensor"] == "delta"
        upper, lower = atom["slots"]
        assert upper["index"] == "upper" and upper["factor"] in conj
        assert lower["index"] == "lower" and lower["factor"] not in conj


def test_export_feynlag_file(tmp_path, capsys):
    out = tmp_path / "model.py"
    assert (
        main(["export", "--to", "feynlag", "--out", str(out), "--names", "L,e,H", LEPTONS_HIGGS])
        == 0
    )
    assert "wrote" in capsys.readouterr().out
    text = out.read_text()
    assert 'f_H = fl.Scalar("H", reps={SU2L: 2, U1Y: Rational(1, 2)}' in text
    assert "model = fl.Model(" in text
    compile(text, str(out), "exec")


SINGLET_DM_TOML = """
[symmetries]
Z2 = "Z2"

[[field]]
name = "H"
type = "scalar"
su2 = 2
y = 1

[[field]]
name = "S"
type = "scalar"
charges = { Z2 = 1 }
"""


def test_export_a_model_file(tmp_path, capsys):
    """``--model FILE`` as in ``lagnb lagrangian``: a Z2-odd complex singlet exports (the Z2
    only removes H†H S + h.c.); made real, it is a feynlag real scalar with ½ (D S)²; a
    gauged U(1)′ charge is refused in one line naming the field."""
    model = tmp_path / "dm.toml"
    model.write_text(SINGLET_DM_TOML)
    out = tmp_path / "dm.py"
    assert main(["export", "--to", "feynlag", "--out", str(out), "--model", str(model)]) == 0
    text = out.read_text()
    assert 'f_S = fl.Scalar("S"' in text and "mu_1" not in text
    model.write_text(
        SINGLET_DM_TOML.replace('type = "scalar"\ncharges', 'type = "scalar"\nreal = true\ncharges')
    )
    assert main(["export", "--to", "feynlag", "--out", str(out), "--model", str(model)]) == 0
    text = out.read_text()
    assert 'f_S = fl.Scalar("S", reps={}, real=True' in text
    assert "Rational(1, 2) * (fl.dag(fl.Dmu(f_S)) * fl.Dmu(f_S))[0]" in text
    model.write_text(
        SINGLET_DM_TOML.replace('Z2 = "Z2"', 'Z2 = "Z2"\nBL = "gauged"').replace(
            "{ Z2 = 1 }", "{ Z2 = 1, BL = 1 }"
        )
    )
    capsys.readouterr()
    assert main(["export", "--to", "feynlag", "--out", str(out), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "field 2 (S): charged under the gauged U(1)′ BL" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--to", "feynlag", "FIELD SPIN 0 SU3 8"],
            "field 1: SU(3) representation 8 has no tested",
        ),
        (["--to", "feynlag"], "required: fields (or --model FILE)"),
        (["--to", "feynlag", "--model", "m.toml", HIGGS], "give FIELDS or --model FILE, not both"),
        (["--to", "ufo", HIGGS], "--to ufo needs --vev NAME=VALUE"),
        (["--to", "ufo", "--vev", "H", HIGGS], "--vev 'H': expected NAME=NUMBER"),
        (["--to", "ufo", "--vev", "H=nan", HIGGS], "--vev 'H=nan': expected NAME=NUMBER"),
    ],
)
def test_export_bad_input_is_one_line(tmp_path, capsys, argv, needle):
    assert main(["export", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lagnb export: error: ") and needle in err


def test_export_ufo_command(tmp_path, capsys):
    pytest.importorskip("feynlag", reason="feynlag is not installed (pip install lagnb[feynlag])")
    out = tmp_path / "S1_UFO"
    argv = [
        "export",
        "--to",
        "ufo",
        "--out",
        str(out),
        "--names",
        "L,e,H,S_1",
        "--vev",
        "H=246",
        "--set",
        "lambda_1=-0.13",
        S1,
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out}: 7 particles")
    assert "left out: S_1: vertices with a coloured scalar" in printed
    assert (out / "vertices.py").is_file()


def test_without_feynlag_the_ufo_route_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "feynlag", None)  # import feynlag → ImportError
    argv = ["export", "--to", "ufo", "--out", str(tmp_path / "x"), "--vev", "H=246", HIGGS]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == "lagnb export: error: feynlag is not installed: pip install 'lagnb[feynlag]'\n"
    # the model file itself needs no feynlag to be written
    assert main(["export", "--to", "feynlag", "--out", str(tmp_path / "m.py"), HIGGS]) == 0
