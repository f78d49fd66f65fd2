"""How a Lagrangian is shown: Unicode text, LaTeX (one line, aligned, notebook), JSON.

Index labels are checked by the summation convention, independently of how they are chosen:
in every rendered term each label is written exactly once as an upper and once as a lower
index (a δ joins an upper with a lower index; an ε carries the opposite kind to the field
indices it contracts).  Bilinear forms are checked against textbook potentials.
"""

import json
import re
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagnb.cli import main
from lagnb.errors import FieldError
from lagnb.physics.catalogue import get
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.terms import unicode_name

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"

# field lists whose terms need more index labels than the 8 SU(2) / 14 SU(3) letters
MANY_INDICES = {
    "su2_quadruplet": "FIELD SPIN 0 SU2 4 U1 0",
    "three_quadruplets": "FIELD SPIN 0 SU2 4 FIELD SPIN 0 SU2 4 U1 2 FIELD SPIN 1/2 SU2 4 HEL -1/2",
    "octet_sextets": "FIELD SPIN 0 SU3 8 SU2 4 FIELD SPIN 0 SU3 6 U1 2/3 FIELD SPIN 0 SU3 -6 U1 -2/3",
    "colour_quadruplet_fermions": "FIELD SPIN 0 SU3 8 SU2 3 FIELD SPIN 1/2 SU3 8 SU2 4 HEL -1/2",
    "fifteen_fields": " ".join(
        ["FIELD SPIN 1/2 SU3 3 SU2 2 U1 1/3 HEL -1/2", "FIELD SPIN 1/2 SU3 3 U1 4/3 HEL 1/2"]
        + ["FIELD SPIN 0 SU2 2 U1 1"] * 3
        + ["FIELD SPIN 1/2 HEL -1/2"] * 4
        + ["FIELD SPIN 0 SU3 6 SU2 4 U1 1", "FIELD SPIN 0 SU3 8 SU2 3", "FIELD SPIN 0 SU2 4 U1 3"]
        + ["FIELD SPIN 1/2 SU2 3 HEL -1/2", "FIELD SPIN 0 SU3 -3 U1 2/3", "FIELD SPIN 0 SU2 3 U1 2"]
    ),
}

# -- the summation convention, read off the rendered strings ----------------------------------
_UP = dict(zip("ⁱʲᵏˡᵐⁿᵖʳˢᵗᵛˣ", "ijklmnprstvx"))
_DOWN = dict(zip("ᵢⱼₖₗₘₙₚᵣₛₜᵥₓ", "ijklmnprstvx"))


def text_index_positions(text: str) -> Counter:
    """(label, 'u'|'d') → count for the raised/lowered letters (and primes) of a text term."""
    out: Counter = Counter()
    i = 0
    while i < len(text):
        c = text[i]
        table = _UP if c in _UP else _DOWN if c in _DOWN else None
        i += 1
        if table is None:
            continue
        primes = 0
        while i < len(text) and text[i] == "′":
            primes, i = primes + 1, i + 1
        out[(table[c] + "'" * primes, "u" if table is _UP else "d")] += 1
    return out


def latex_index_positions(tex: str) -> Counter:
    """(label, 'u'|'d') → count for the letters in ``^{…}``/``_{…}`` groups of a LaTeX term
    (groups holding a command, such as ``_{\\mu}`` or ``^{\\dagger}``, are not indices)."""
    out: Counter = Counter()
    for kind, group in re.findall(r"([_^])\{([^{}\\]*)\}", tex):
        for label in re.findall(r"[a-z]'*", group):
            out[(label, "u" if kind == "^" else "d")] += 1
    return out


def assert_summation_convention(positions: Counter, shown: str) -> None:
    labels = {label for label, _ in positions}
    for label in labels:
        assert positions[(label, "u")] == 1 and positions[(label, "d")] == 1, (label, shown)


def check_every_format(lag) -> None:
    """Every format renders, and every term's indices obey the summation convention."""
    text = lag.to_text()
    assert len(text.splitlines()) >= len(lag.terms) + len(lag.fields) + 2
    lines = lag.latex_lines()
    assert len(lines) == len(lag.terms)
    for term, line in zip(lag.terms, lines):
        if term.kind == "gauge_kinetic":
            continue
        assert_summation_convention(latex_index_positions(line), line)
        shown = term.text(lag.fields)
        assert_summation_convention(text_index_positions(shown), shown)
    data = json.loads(lag.json())
    assert [t["latex"] for t in data["terms"]] == [t.latex(lag.fields) for t in lag.terms]
    assert lag._repr_latex_().count(r"\\") == len(lag.terms) - 1
    assert lag.latex().startswith(r"\mathcal{L} = ")
    assert lag.latex_aligned().startswith("\\begin{aligned}\n\\mathcal{L} = {} & ")
    assert lag.tokens()


# -- 1. index labels never run out ------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MANY_INDICES))
def test_index_labels_never_run_out(name):
    lag = lagrangian(MANY_INDICES[name])
    check_every_format(lag)
    # these lists do need more labels than the plain letters: primed ones appear
    assert any("′" in t.text(lag.fields) for t in lag.terms)
    if name != "colour_quadruplet_fermions":
        assert any("'" in line for line in lag.latex_lines())


def test_quadruplet_renders_in_latex_engines():
    """Primed labels are valid LaTeX: matplotlib's mathtext parses every term."""
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("path")
    lag = lagrangian(MANY_INDICES["su2_quadruplet"])
    for line in lag.latex_lines():
        parser.parse(f"${line}$")


@pytest.mark.parametrize("name", sorted(MANY_INDICES))
def test_cli_renders_many_indices_in_every_format(name, capsys):
    for fmt in ([], ["--json"], ["--latex"], ["--tokens"]):
        assert main(["lagrangian", *fmt, MANY_INDICES[name]]) == 0
        captured = capsys.readouterr()
        assert captured.out and not captured.err


_REPS = st.tuples(
    st.sampled_from([0, 1]),  # spin 0 or 1/2
    st.sampled_from([1, 3, -3, 6, -6, 8]),
    st.sampled_from([1, 2, 3, 4]),
    st.sampled_from(["0", "1", "-1", "1/3", "2"]),
    st.booleans(),  # left-handed
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_REPS, min_size=1, max_size=3))
def test_any_field_list_renders_in_every_format(reps):
    fields = [
        Field.scalar(su3, su2, y)
        if spin == 0
        else (Field.left if left else Field.right)(su3, su2, y)
        for spin, su3, su2, y, left in reps
    ]
    check_every_format(lagrangian(fields))


# -- 2. the Unicode table ---------------------------------------------------------------------
def rows(lag, names=None) -> dict[str, list[str]]:
    """kind → the term column of its rows in :meth:`to_text`."""
    out: dict[str, list[str]] = {}
    for line in lag.to_text(names).splitlines():
        m = re.match(r"\s*\d+  (\w+)\s+(?:\S+ ∈ [ℝℂ]\s+)?(.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def test_higgs_reads_like_the_textbook():
    table = rows(lagrangian(HIGGS), ["H"])
    assert table["quartic"] == ["λ₁ (H†H)²"]
    assert table["mass"] == ["m₁² H†H"]
    assert table["kinetic"] == ["(D_μ H)† (D^μ H)"]
    assert table["gauge_kinetic"] == ["−¼ Wᴬ_μν Wᴬ^μν", "−¼ B_μν B^μν"]


def test_lepton_yukawa_and_fermion_kinetic_terms():
    table = rows(lagrangian(get("sm_leptons_higgs").fields))
    assert table["yukawa"] == ["y₁ (H†L) e† + h.c."]
    assert table["kinetic"][:2] == ["i L† σ̄^μ (D_μ L)", "i e† σ̄^μ (D_μ e)"]


def _canonical_product(term: str, hermitian: bool) -> tuple[str, ...]:
    """A product of bilinears '(A†B) (C†D)' or '(A†B)²' as a sorted tuple of (A,B) pairs;
    O + h.c. is identified with O† + h.c."""
    pairs: list[tuple[str, str]] = []
    for a, b, power in re.findall(r"\((\w+)†(\w+)\)([²]?)", term):
        pairs += [(a, b)] * (2 if power else 1)
    op = tuple(sorted(f"{a}|{b}" for a, b in pairs))
    if hermitian:
        return op
    conj = tuple(sorted(f"{b}|{a}" for a, b in pairs))
    return min(op, conj)


def test_two_higgs_doublet_potential_is_the_textbook_one():
    """λ1…λ7 of the general 2HDM (e.g. Branco et al., Phys. Rept. 516 (2012) 1, eq. 2.4)."""
    lag = lagrangian(get("2hdm").fields)
    got = Counter()
    for line in rows(lag)["quartic"]:
        body = line.split(" ", 1)[1]
        hc = body.endswith("+ h.c.")
        got[(_canonical_product(body.removesuffix(" + h.c."), not hc), hc)] += 1
    textbook = [
        ("(H₁†H₁)²", False),
        ("(H₂†H₂)²", False),
        ("(H₁†H₁) (H₂†H₂)", False),
        ("(H₁†H₂) (H₂†H₁)", False),
        ("(H₁†H₂)²", True),
        ("(H₁†H₁) (H₁†H₂)", True),
        ("(H₂†H₂) (H₁†H₂)", True),
    ]
    want = Counter((_canonical_product(op, not hc), hc) for op, hc in textbook)
    assert got == want


def test_default_names_number_fields_by_position():
    lag = lagrangian("FIELD SPIN 1/2 HEL -1/2 FIELD SPIN 0 U1 1")
    text = lag.to_text()
    assert "ψ₁" in text and "φ₂" in text
    assert rows(lag)["mass"] == ["m₁² φ₂†φ₂", "−M₁ ψ₁ ψ₁ + h.c."]


def test_names_come_from_the_fields_then_from_names():
    named = [Field.scalar(1, 3, 2, name=r"\Delta"), Field.scalar(1, 2, 1, name="H_1")]
    lag = lagrangian(named)
    assert "λ₃ (Δ†Δ) (H₁†H₁)" in lag.to_text()
    assert "λ₃ (T†T) (h†h)" in lag.to_text(["T", "h"])
    assert lag.with_names(["T", "h"]).to_text() == lag.to_text(["T", "h"])
    assert r"{T}_{ab} {T}_{cd} {T^{\dagger}}^{ab}" in lag.with_names(["T", "h"]).latex()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["a"], "names: 1 name(s) for 2 field(s); give one name per field, in input order"),
        (["a", ""], "names: name 2 is empty"),
        (["a", "a"], "names: 'a' is given twice"),
        (["a", "b&c"], "contains '&'"),
        (["a", "H_{1"], "unbalanced braces"),
        ("ab", "give a list of names"),
    ],
)
def test_bad_names_are_one_clear_error(names, message):
    lag = lagrangian("FIELD SPIN 0 FIELD SPIN 0 U1 1")
    with pytest.raises(FieldError, match=re.escape(message)):
        lag.to_text(names)
    with pytest.raises(FieldError, match=re.escape(message)):
        lag.with_names(names)


def test_explicit_indices_show_epsilon_and_both_kinds():
    lag = lagrangian(get("sm").fields)
    (up_yukawa,) = [t for t in lag.by_kind("yukawa") if "ε" in t.text(lag.fields)]
    assert up_yukawa.text(lag.fields) == "εᵖʳ Qⁱₚ u†ᵢ Hᵣ"
    assert "(indices: SU(3) i, j, k, …; SU(2) p, r, s, …" in lag.to_text()
    assert "(indices:" not in lagrangian(HIGGS).to_text()


def test_a_name_ending_in_a_subscript_is_bracketed_before_indices():
    lag = lagrangian(get("sm_leptoquark_s1").fields)
    text = lag.to_text()
    assert "(S₁)ᵢ" in text and "S₁ᵢ" not in text


@pytest.mark.parametrize(
    ("tex", "shown"),
    [
        (r"\phi_{12}", "φ₁₂"),
        ("H_1", "H₁"),
        ("e^c", "eᶜ"),
        (r"\bar{u}", "ū"),
        (r"\Delta^{++}", "Δ⁺⁺"),
        ("u_R", "u_R"),
        (r"\lambda", "λ"),
        ("{", "{"),
        ("^{^{^{^{^{^{^{^{^{^{^{x", None),
        ("\\", "\\"),
    ],
)
def test_unicode_names(tex, shown):
    got = unicode_name(tex)
    assert got if shown is None else got == shown


# -- LaTeX --------------------------------------------------------------------------------------
@pytest.mark.parametrize("per_line", [1, 3, 5])
def test_latex_aligned_has_per_line_terms_a_line(per_line):
    lag = lagrangian(get("sm").fields)
    tex = lag.latex_aligned(per_line)
    body = tex.removeprefix("\\begin{aligned}\n").removesuffix("\n\\end{aligned}")
    lines = body.split(" \\\\\n")
    assert len(lines) == -(-len(lag.terms) // per_line)
    assert tex.count("{") == tex.count("}")
    for line, k in zip(lines, range(0, len(lag.terms), per_line)):
        chunk = lag.latex_lines()[k : k + per_line]
        assert all(piece.removeprefix("+ ") in line for piece in chunk)


def test_a_name_with_a_superscript_is_braced_before_its_dagger():
    lag = lagrangian([Field.left(1, 1, 2, name="e^c")])
    assert r"{e^c}^{\dagger}" in lag.latex()
    assert "^c^" not in lag.latex()


# -- the command line -----------------------------------------------------------------------------
def test_cli_default_is_the_unicode_table(capsys):
    assert main(["lagrangian", HIGGS]) == 0
    out = capsys.readouterr().out
    assert "λ₁ (φ₁†φ₁)²" in out and "\\" not in out


def test_cli_names(capsys):
    sm = (
        "FIELD SPIN 1/2 SU3 3 SU2 2 U1 1/3 HEL -1/2 FIELD SPIN 1/2 SU3 3 U1 4/3 HEL 1/2 "
        "FIELD SPIN 1/2 SU3 3 U1 -2/3 HEL 1/2 FIELD SPIN 1/2 SU2 2 U1 -1 HEL -1/2 "
        "FIELD SPIN 1/2 U1 -2 HEL 1/2 FIELD SPIN 0 SU2 2 U1 1"
    )
    assert main(["lagrangian", "--names", "Q,u,d,L,e,H", sm]) == 0
    out = capsys.readouterr().out
    assert "y₃ (H†L) e† + h.c." in out and "λ₁ (H†H)²" in out
    assert main(["lagrangian", "--latex", "--names", "Q,u,d,L,e,H", sm]) == 0
    assert r"{u^{\dagger}}_{i}" in capsys.readouterr().out
    assert main(["lagrangian", "--names", "Q,u,d", sm]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "lagnb lagrangian: error: --names 'Q,u,d': 3 name(s) for 6 field(s); "
        "give one name per field, in input order"
    ]


def test_cli_json_content_is_the_api_json(capsys):
    assert main(["lagrangian", "--json", HIGGS]) == 0
    assert json.loads(capsys.readouterr().out) == lagrangian(HIGGS).to_json()


def test_cli_lagrangian_does_not_import_torch():
    code = (
        "import sys; from lagnb.cli import main; "
        f"[main(['lagrangian', *f, {HIGGS!r}]) for f in ([], ['--latex'], ['--json'])]; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
