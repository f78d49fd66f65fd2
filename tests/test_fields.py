import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lagnb.errors import FieldError, LagnbError, TokenError
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


# -- conjugate SU(3) representations written 3bar, decimals ---------------------------------------
@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("FIELD SPIN 0 SU3 3bar U1 2/3", "FIELD SPIN 0 SU3 - 3 U1 2 / 3"),
        ("FIELD SPIN 0 SU3 6bar SU2 3", "FIELD SPIN 0 SU3 - 6 SU2 3"),
        ("FIELD SPIN 0 SU3 3BAR", "FIELD SPIN 0 SU3 - 3"),
        ("FIELD SPIN 1/2 SU3 3\u0304 HEL 1/2", "FIELD SPIN 1 / 2 SU3 - 3 HEL 1 / 2"),
        ("FIELD SPIN 0 U1 0.5", "FIELD SPIN 0 U1 1 / 2"),
        ("FIELD SPIN 0 U1 0.1", "FIELD SPIN 0 U1 1 / 1 0"),
        ("FIELD SPIN 0 U1 -0.25", "FIELD SPIN 0 U1 - 1 / 4"),
        ("FIELD SPIN 0 U1 - 1.5", "FIELD SPIN 0 U1 - 3 / 2"),
        ("FIELD SPIN 0 U1 .2", "FIELD SPIN 0 U1 1 / 5"),
        ("FIELD SPIN 0 U1 2.", "FIELD SPIN 0 U1 2"),
        ("FIELD SPIN 0.5 HEL -0.5", "FIELD SPIN 1 / 2 HEL - 1 / 2"),
    ],
)
def test_bar_and_decimals_are_read_exactly(written, canonical):
    fields = parse_fields(written)
    assert fields_tokens(fields, specials=False) == canonical
    assert parse_fields(canonical) == fields


def test_decimal_hypercharges_are_exact_fractions():
    (f,) = parse_fields("FIELD SPIN 0 SU2 2 U1 0.3333")
    assert f.y == Fraction(3333, 10000)  # not rounded to 1/3
    assert Field.scalar(y="0.5").y == Fraction(1, 2)
    assert Field.scalar(y=0.1).y == Fraction(1, 10)
    assert Field.scalar(y=1 / 3).y == Fraction(1, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FIELD SPIN 0 U1 nan", "field 1, U1: 'nan' is not a finite number; write a fraction"),
        ("FIELD SPIN 0 U1 -inf", "field 1, U1: '-inf' is not a finite number"),
        ("FIELD SPIN 0 U1 1e-3", "field 1, U1: expected a number, got '1e-3' (write 1, -1/3 or"),
        ("FIELD SPIN 0 U1 0.5.5", "expected a number, got '0.5.5'"),
        ("FIELD SPIN 0 U1 - -0.5", "field 1, U1: two signs in '- -0.5'"),
        ("FIELD SPIN 0 U1 0." + "1" * 120, "has more than 100 digits"),
        ("FIELD SPIN 0 SU3 8bar", "field 1, SU3: the 8 of SU(3) is its own conjugate; write SU3 8"),
        ("FIELD SPIN 0 SU2 2bar", "field 1, SU2: '2bar': only SU3 has conjugate"),
        ("FIELD SPIN 0 SU3 3 bar", "stray token 'bar' after field 1 (write SU3 3bar as one word"),
        ("FIELD SPIN 0 SU3 4bar", "field 1: unknown SU(3) representation -4"),
        ("FIELD SPIN 0 SU3 1.5", "field 1: SU3 representation must be an integer, got 3/2"),
        ("FIELD SPIN 0 U1 ²", "expected a number, got '²'"),
    ],
)
def test_bad_numbers_are_one_line_naming_the_token(text, message):
    with pytest.raises((FieldError, TokenError)) as info:
        parse_fields(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y": float("nan")}, "hypercharge must be a finite number, got nan"),
        ({"y": float("inf")}, "hypercharge must be a finite number"),
        ({"y": 1e-9}, "is no fraction with denominator up to 1000"),  # not silently 0
        ({"y": "inf"}, "must be a finite number"),
        ({"y": "1/0"}, "has a zero denominator"),
        ({"y": 10**200}, "has more than 100 digits"),
        ({"y": [1]}, "must be a number"),
        ({"su2": 3.0}, "su2 must be an integer dimension"),
        ({"su3": "3bar"}, "su3 must be an integer dimension"),
    ],
)
def test_python_api_rejects_numbers_it_cannot_take_exactly(kwargs, message):
    with pytest.raises(FieldError, match=re.escape(message)):
        Field.scalar(**kwargs)


def test_numpy_integers_are_accepted():
    np = pytest.importorskip("numpy")
    f = Field.scalar(np.int64(3), np.int64(2), np.int64(1))
    assert (f.su3, f.su2, f.y) == (3, 2, 1) and type(f.su3) is int
    assert " ".join(f.tokens()) == "FIELD SPIN 0 SU3 3 SU2 2 U1 1"


_KEYWORDS = ["FIELD", "SPIN", "SU3", "SU2", "U1", "HEL", "DAGGER", "[SOS]", "[EOS]", "-", "/"]
_VALUES = ["0", "1", "2", "3", "4", "6", "8", "0.5", "-0.5", ".1", "3bar", "6bar", "8bar"]
_JUNK = ["2bar", "bar", "nan", "inf", "1e3", "²", "x"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_KEYWORDS + _VALUES + _JUNK), max_size=14) | st.text(max_size=40))
def test_any_input_parses_or_is_one_clear_error(tokens):
    """Whatever a user types, parse_fields returns fields or raises a one-line LagnbError."""
    text = tokens if isinstance(tokens, str) else " ".join(tokens)
    try:
        fields = parse_fields(text)
    except LagnbError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert parse_fields(fields_tokens(fields)) == fields
