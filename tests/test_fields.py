from fractions import Fraction

import pytest

from lagnb.errors import FieldError, TokenError
from lagnb.physics.fields import Field, fields_tokens, number_tokens, parse_fields, split_tokens


def test_parse_model_card_example():
    fields = parse_fields(
        "[SOS] FIELD SPIN 0 SU2 2 U1 1 FIELD SPIN 1 / 2 SU3 3 SU2 2 U1 1 / 3 HEL - 1 / 2 [EOS]"
    )
    assert fields == (Field.scalar(1, 2, 1), Field.left(3, 2, Fraction(1, 3)))


def test_compact_numbers_and_multi_digit_charges():
    assert split_tokens("SPIN 1/2 HEL -1/2 U1 40") == [
        "SPIN",
        "1",
        "/",
        "2",
        "HEL",
        "-",
        "1",
        "/",
        "2",
        "U1",
        "4",
        "0",
    ]
    (f,) = parse_fields("FIELD SPIN 1/2 SU3 -3 U1 -7/6 HEL 1/2")
    assert (f.su3, f.y, f.helicity) == (-3, Fraction(-7, 6), Fraction(1, 2))
    assert parse_fields("FIELD SPIN 0 U1 4 0")[0].y == 40


@pytest.mark.parametrize(
    "field",
    [
        Field.scalar(8, 3, "-1/2"),
        Field.left(-6, 4, "5/3"),
        Field.right(1, 1, 0),
        Field.scalar(),
    ],
)
def test_tokens_round_trip(field):
    assert parse_fields(fields_tokens([field])) == (field,)


def test_number_tokens():
    assert number_tokens(Fraction(-7, 2)) == ["-", "7", "/", "2"]
    assert number_tokens(Fraction(40)) == ["4", "0"]


def test_conjugate_flips_everything():
    f = Field.right(3, 2, "-5/2")
    c = f.conjugate()
    assert (c.su3, c.su2, c.y, c.helicity) == (-3, 2, Fraction(5, 2), Fraction(-1, 2))
    assert f.tokens(conjugate=True)[-1] == "DAGGER"
    assert "SU3 - 3 SU2 2 U1 5 / 2 HEL - 1 / 2" in " ".join(f.tokens(conjugate=True))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FIELD SPIN 0 SU3 5", "field 1: unknown SU(3) representation 5"),
        ("FIELD SPIN 0 SU2 2 U1 1 / 0", "field 1, U1: division by zero"),
        ("FIELD SPIN 0 FIELD SPIN 0 HEL 1 / 2", "field 2: a scalar has no helicity"),
        ("FIELD SPIN 1 / 2 SU2 2", "field 1: a spin-1/2 field needs helicity"),
        ("FIELD SPIN 1", "field 1: spin 1 is not supported"),
        ("FIELD SPIN 0 SU2 7", "field 1: unknown SU(2) representation 7"),
        ("FIELD SPIN 0 BANANA", "stray token 'BANANA' after field 1"),
        ("FIELD SPIN 0 U1 1 SU2 2", "SU2 is repeated or out of order"),
        ("FIELD SPIN 0 DAGGER", "a conjugated field is not an input"),
        ("SPIN 0", "stray token 'SPIN' at the start"),
        ("FIELD SU2 2", "field 1: missing SPIN"),
        ("FIELD SPIN 0 U1 /", "field 1, U1: expected a number, got '/'"),
        ("[SOS] [EOS]", "empty field list"),
    ],
)
def test_bad_input_names_the_fault(text, message):
    with pytest.raises(
        (FieldError, TokenError), match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        parse_fields(text)


def test_python_api_errors_name_the_field():
    with pytest.raises(FieldError, match="field 'X': unknown SU"):
        Field.scalar(su3=4, name="X")
    with pytest.raises(FieldError, match="helicity 1 is not"):
        Field(spin="1/2", helicity=1)
    with pytest.raises(FieldError, match="not a rational number"):
        Field.scalar(y="one third")
