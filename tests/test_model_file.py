"""Inputs for the issue-12 options: the TOML model file, the Model API, the CLI's --model and
the documented extension tokens of the field string."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lagnb import Model, Symmetry, lagrangian, parse_model, read_model
from lagnb.cli import main
from lagnb.errors import FieldError, LagnbError, TokenError
from lagnb.physics import catalogue
from lagnb.physics.fields import Field, fields_tokens, parse_fields

ROOT = Path(__file__).resolve().parents[1]
SCOTOGENIC = ROOT / "examples" / "scotogenic.toml"
Z2 = Symmetry.z("Z2", 2)


def scotogenic_by_hand() -> list[Field]:
    return [
        Field.left(1, 2, -1, "L", generations=3),
        Field.right(1, 1, -2, "e", generations=3),
        Field.right(1, 1, 0, "N", generations=3, charges={Z2: 1}),
        Field.scalar(1, 2, 1, "H"),
        Field.scalar(1, 2, 1, r"\eta", charges={Z2: 1}),
    ]


def test_example_file_reads_as_written() -> None:
    model = read_model(SCOTOGENIC)
    assert model.name == "scotogenic" and model.symmetries == (Z2,)
    assert model.fields == tuple(scotogenic_by_hand())
    assert [f.name for f in model.fields] == ["L", "e", "N", "H", r"\eta"]
    assert model.lagrangian().terms == lagrangian(scotogenic_by_hand()).terms


GOOD_FIELD = '[[field]]\nname = "S"\ntype = "scalar"\n'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[symmetries]\nZ2 = "Z2"\n' + GOOD_FIELD + "charges = { Z2 = 0.5 }\n", "not an integer"),
        (GOOD_FIELD + "generations = 0\n", "generations must be at least 1"),
        (GOOD_FIELD + "su2 = 2\nreal = true\n", "SU\\(2\\) 2 is not real"),
        (GOOD_FIELD + "charges = { Z2 = 1 }\n", "undeclared symmetry 'Z2'"),
        (GOOD_FIELD + "colour = 3\n", "unknown key 'colour'"),
        ('[[field]]\nname = "S"\ntype = "vector"\n', "type must be"),
        ('[symmetries]\nX = "local"\n' + GOOD_FIELD, 'expected "gauged"'),
        ('[symmetries]\nX = { kind = "Z", order = 1 }\n' + GOOD_FIELD, "N ≥ 2"),
        (GOOD_FIELD + GOOD_FIELD, "used twice"),
        ("name = 'x'\n", "no fields"),
        (GOOD_FIELD + "su3 = '4bar'\n", "unknown SU\\(3\\) representation -4"),
        (GOOD_FIELD + "su3 = 'three'\n", "su3 'three'"),
        ("[[field]\n", "not valid TOML"),
    ],
)
def test_bad_model_files(text: str, match: str) -> None:
    with pytest.raises(FieldError, match=match) as info:
        parse_model(text, "m.toml")
    assert str(info.value).startswith("m.toml") and "\n" not in str(info.value)


def test_model_api_needs_declared_symmetries() -> None:
    s = Field.scalar(charges={Z2: 1}, name="S")
    assert Model((s,), (Z2,)).lagrangian().fields == (s,)
    with pytest.raises(FieldError, match="does not declare"):
        Model((s,))
    with pytest.raises(FieldError, match="declared twice"):
        Model((s,), (Z2, Symmetry.global_u1("Z2")))
    with pytest.raises(FieldError, match="two different symmetries are named 'Z2'"):
        lagrangian([s, Field.scalar(charges={Symmetry.z("Z2", 4): 1})])


def test_cli_model_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lagrangian", "--model", str(SCOTOGENIC)]) == 0
    out = capsys.readouterr().out
    assert "N  Weyl (1, 1, 0, Z2 1) R ×3" in out
    assert "(3×3 symmetric, 12 real)" in out and "λ₂ (η†H)² + h.c." in out
    assert main(["lagrangian", "--json", "--model", str(SCOTOGENIC)]) == 0
    fields = json.loads(capsys.readouterr().out)["fields"]
    assert fields[2]["charges"] == {"Z2": "1"} and fields[2]["generations"] == 3
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD_FIELD + "generations = -2\n")
    for argv, message in (
        (["lagrangian", "--model", str(bad)], "generations must be at least 1, got -2"),
        (["lagrangian", "--model", str(tmp_path / "none.toml")], "cannot read the model file"),
        (["lagrangian"], "required: fields (or --model FILE)"),
        (["lagrangian", "--model", str(bad), "FIELD SPIN 0"], "not both"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("lagnb lagrangian: error: ") and message in err, err
        assert err.count("\n") == 1


def test_extension_tokens_round_trip() -> None:
    fields = [*scotogenic_by_hand(), Field.scalar(8, 3, 0, real=True, generations=2)]
    text = fields_tokens(fields)
    assert text.startswith("[SOS] SYMMETRY Z2 Z 2 FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 GEN 3")
    assert "SU3 8 SU2 3 REAL GEN 2 [EOS]" in text
    assert parse_fields(text) == tuple(fields)
    bl = Symmetry.gauged_u1("BL")
    charged = [Field.right(charges={bl: -1}), Field.scalar(charges={bl: 2})]
    assert fields_tokens(charged, specials=False) == (
        "SYMMETRY BL GAUGED FIELD SPIN 1 / 2 HEL 1 / 2 CHARGE BL - 1 FIELD SPIN 0 CHARGE BL 2"
    )
    assert parse_fields(fields_tokens(charged)) == tuple(charged)


def test_bart_l_strings_are_unchanged() -> None:
    sm = catalogue.get("sm").fields
    assert fields_tokens(sm) == (
        "[SOS] FIELD SPIN 1 / 2 SU3 3 SU2 2 U1 1 / 3 HEL - 1 / 2 "
        "FIELD SPIN 1 / 2 SU3 3 U1 4 / 3 HEL 1 / 2 FIELD SPIN 1 / 2 SU3 3 U1 - 2 / 3 HEL 1 / 2 "
        "FIELD SPIN 1 / 2 SU2 2 U1 - 1 HEL - 1 / 2 FIELD SPIN 1 / 2 U1 - 2 HEL 1 / 2 "
        "FIELD SPIN 0 SU2 2 U1 1 [EOS]"
    )
    assert all(f.is_bart_l for f in parse_fields(fields_tokens(sm)))


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("FIELD SPIN 0 CHARGE Z2 1", TokenError, "undeclared symmetry 'Z2'"),
        ("SYMMETRY Z2 Z 2 FIELD SPIN 0 CHARGE Z2 1/2", FieldError, "not an integer"),
        ("SYMMETRY Z2 Z 2 FIELD SPIN 0 CHARGE Z2 3 REAL", TokenError, "out of order"),
        ("FIELD SPIN 0 GEN 0", FieldError, "generations must be at least 1"),
        ("FIELD SPIN 0 SU3 3 REAL", FieldError, "SU\\(3\\) 3 is not real"),
        ("SYMMETRY X SOFT FIELD SPIN 0", TokenError, "not GAUGED, GLOBAL or Z"),
        ("SYMMETRY X GLOBAL", TokenError, "no FIELD"),
    ],
)
def test_bad_extension_tokens(text: str, error: type[LagnbError], match: str) -> None:
    with pytest.raises(error, match=match):
        parse_fields(text)


def test_term_tokens_of_ambiguous_fields_are_refused() -> None:
    """Term tokens are BART-L: H and a Z2-odd η of the same gauge numbers look alike there."""
    from lagnb import check_term

    fields = scotogenic_by_hand()
    lag = lagrangian(fields)
    verdict = check_term(fields, lag.by_kind("quartic")[1].tokens(fields))
    assert not verdict.parses and "ambiguous" in verdict.reasons[0]
    odd = [Field.scalar(1, 2, 1, "H"), Field.scalar(1, 1, 0, "S", real=True, charges={Z2: 1})]
    lag = lagrangian(odd)
    for t in lag.terms:  # distinguishable: the token form checks as the Term does
        assert check_term(odd, t.tokens(odd)).match == lag.terms.index(t)
