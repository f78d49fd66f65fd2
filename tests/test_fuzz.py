"""Fuzzing: nothing a user types crashes lagnb.

Generated inputs go to the parsers (``parse_fields``, ``parse_structure``, ``parse_term``), the
term checker, the scorer, the CSV import and the command line (``lagnb.cli.main``):

* token soups over the vocabulary and junk (unknown words, decimals, ``3bar``, unicode digits,
  numbers too long for Python's ``int``, empty strings);
* near-valid field strings: a random field list with one token replaced, inserted or deleted;
* engine terms of random field lists mutated the same way, or relabelled;
* random terms over a random field list (objects, derivatives, σ̄, commutators, contractions);
* CSV files in the public BART-L layout with good, mutated and junk rows, bad splits, ragged
  rows;
* command lines of the engine commands.

Every outcome must be a result or a :class:`~lagnb.errors.LagnbError` whose one-line message
names the culprit: the field, object, token, position, label, contraction or row.

CI runs about 10,000 examples in all, deterministically (``derandomize=True``); the long run
spreads ``LAGNB_FUZZ_EXAMPLES`` examples over the same tests (``LAGNB_FUZZ_SEED`` makes it a
fresh random run)::

    LAGNB_FUZZ_EXAMPLES=200000 python -m pytest -q -p no:cacheprovider tests/test_fuzz.py
    python benchmarks/fuzz.py --examples 200000     # the same, with a table of outcomes
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import string
import tempfile
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from lagnb.cli import main
from lagnb.data.importing import import_bart_l_csv
from lagnb.data.reader import read_meta
from lagnb.errors import LagnbError
from lagnb.ml.metrics import canonical_key, score_lagrangian
from lagnb.physics.catalogue import CATALOGUE
from lagnb.physics.check import TermCheck, check_lagrangian, check_term
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field, fields_tokens, parse_fields
from lagnb.physics.groups import SU2_REPS, SU3_REPS
from lagnb.physics.terms import charged_groups
from lagnb.physics.tokens import (
    CONTRACTION_GROUPS,
    GAUGE_GROUPS,
    IDS,
    VOCABULARY,
    parse_structure,
    parse_term,
    split_terms,
)

# -- budget ----------------------------------------------------------------------------------------
TOTAL = int(os.environ.get("LAGNB_FUZZ_EXAMPLES", "10000"))
SEED = os.environ.get("LAGNB_FUZZ_SEED")
SHARES = {
    "soup/fields": 0.17,
    "soup/term": 0.13,
    "mutated/fields": 0.21,
    "mutated/term": 0.2,
    "random/term": 0.13,
    "cli": 0.12,
    "csv": 0.04,
}
"""Each input class's share of the examples (the CSV import writes a dataset per example)."""

TALLY: Counter[tuple[str, str]] = Counter()
"""(input class and function, outcome) → count; written to ``LAGNB_FUZZ_REPORT`` if set."""


def budget(name: str) -> int:
    return max(10, round(TOTAL * SHARES[name]))


def fuzz(name: str) -> Callable:
    """Hypothesis settings of one input class: its share of the budget, deterministic unless
    ``LAGNB_FUZZ_SEED`` is set, no deadline (timings vary on shared CI machines)."""

    def wrap(test: Callable) -> Callable:
        test = settings(
            max_examples=budget(name),
            derandomize=SEED is None,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )(test)
        return seed(int(SEED))(test) if SEED is not None else test

    return wrap


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if path := os.environ.get("LAGNB_FUZZ_REPORT"):
        rows = [{"input": k[0], "outcome": k[1], "count": n} for k, n in sorted(TALLY.items())]
        Path(path).write_text(json.dumps(rows, indent=1))


# -- what an error must say ------------------------------------------------------------------------
FIELD_CULPRIT = re.compile(r"\bfield \d+\b|^stray token ['\"]|^empty field list")
"""A field-list error names the field (``field 2: …``) or the stray token."""
TERM_CULPRIT = re.compile(
    r"\b(?:object|position) \d+\b|\bID\d\b|\b(?:got|object) ['\"]|^empty term|^a term starts"
)
"""A term error names the object, the token's position, the label or the offending token."""
CSV_CULPRIT = (
    r"^{path}: (?:.*\b(?:row|line) \d+\b|.*\bcolumns?\b|nothing to import)|^{path} is empty"
)
"""A CSV error names the file and the row, line or column (or says the file has no data)."""
USAGE_CULPRIT = re.compile(r"\bargument|\bunrecognized|\binvalid choice\b")


def blame(culprit: re.Pattern[str], exc: LagnbError) -> str:
    """The error's message, checked: one non-empty line that names the culprit."""
    msg = str(exc)
    assert msg.strip() and "\n" not in msg, repr(msg)
    assert culprit.search(msg), f"the message names no culprit: {msg!r}"
    return msg


def attempt(name: str, culprit: re.Pattern[str], fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``: a result, or None after a :class:`LagnbError` that names its culprit.
    Any other exception is a crash and fails the test."""
    try:
        out = fn(*args)
    except LagnbError as exc:
        blame(culprit, exc)
        TALLY[(name, "error")] += 1
        return None
    TALLY[(name, "result")] += 1
    return out


def verdict(name: str, c: TermCheck) -> TermCheck:
    """Check a :class:`TermCheck`: explained, and a parse failure names its culprit."""
    assert c.status in ("valid", "invalid", "malformed")
    text = c.explain()
    assert "\n" not in text
    if c.valid:
        assert c.term is not None
    else:
        assert c.reasons
    if not c.parses:
        assert c.term is None and len(c.reasons) == 1
        assert TERM_CULPRIT.search(c.reasons[0].removeprefix("does not parse: ")), c.reasons
    TALLY[(name, c.status)] += 1
    return c


# -- inputs ----------------------------------------------------------------------------------------
JUNK = (
    "",
    "SU4",
    "U2",
    "SU(2)",
    "3bar",
    "3b",
    "1.5",
    "0.5",
    ".5",
    "-0",
    "00",
    "07",
    "+1",
    "1e3",
    "nan",
    "inf",
    "1/0",
    "0/0",
    "1/-2",
    "--1",
    "//",
    "-/",
    "ID10",
    "ID-1",
    "id3",
    "IDx",
    "field",
    "FIELD,",
    "h.c.",
    "None",
    "²",
    "٣",
    "½",
    "é",
    "ψ",
    "\x00",
    "[MASK]",
    "1" * 120,  # more digits than lagnb reads
    "9" * 5000,  # more digits than Python's int() converts
)
WORDS = tuple(VOCABULARY) + JUNK
any_token = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS),
    st.text(string.printable + "²½ψ", min_size=1, max_size=6),
)
soup = st.lists(any_token, max_size=30).map(" ".join)

quantum_numbers = st.tuples(
    st.sampled_from(["scalar", "left", "right"]),
    st.sampled_from(sorted(SU3_REPS)),
    st.sampled_from(sorted(SU2_REPS)),
    st.builds(Fraction, st.integers(-12, 12), st.integers(1, 6)),
)
NAMED = tuple(m.fields for m in CATALOGUE.values())
field_lists = st.one_of(
    # at most two random fields keep the engine's cost per example in milliseconds; flavours
    # (identical fields) come from the named models only: for some contents the engine writes a
    # term antisymmetric in two flavours, which the tokens cannot tell apart
    st.lists(
        quantum_numbers.map(lambda q: getattr(Field, q[0])(q[1], q[2], q[3])),
        min_size=1,
        max_size=2,
        unique=True,
    ),
    st.sampled_from(NAMED),
).map(tuple)


@lru_cache(maxsize=512)
def engine_terms(fields: tuple[Field, ...]) -> tuple[str, ...]:
    """The engine's terms of a field list (each O and its h.c.), computed once per list."""
    return tuple(lagrangian(fields).term_tokens())


def compact(tokens: list[str]) -> list[str]:
    """Numbers written as one token (``SPIN 1/2``, ``U1 -7/6``), as in the public CSVs."""
    out: list[str] = []
    for tok in tokens:
        if out and re.fullmatch(r"[-0-9/]", tok) and re.fullmatch(r"[-0-9/]+", out[-1]):
            out[-1] += tok
        else:
            out.append(tok)
    return out


@st.composite
def mutate(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    """One token replaced, inserted or deleted, two swapped, or a number's sign dropped."""
    toks = list(tokens)
    op = draw(st.sampled_from(["replace", "insert", "delete", "swap", "unsign"]))
    k = draw(st.integers(0, len(toks) - 1))
    if op == "replace":
        toks[k] = draw(any_token)
    elif op == "insert":
        toks.insert(draw(st.integers(0, len(toks))), draw(any_token))
    elif op == "delete":
        del toks[k]
    elif op == "swap":
        j = draw(st.integers(0, len(toks) - 1))
        toks[k], toks[j] = toks[j], toks[k]
    elif "-" in toks:
        toks.remove("-")
    return toks


@st.composite
def field_strings(draw: st.DrawFn) -> str:
    """A field list's input string, sometimes compact or without [SOS]/[EOS], one mutation."""
    toks = fields_tokens(draw(field_lists)).split()
    if draw(st.booleans()):
        toks = compact(toks)
    if draw(st.booleans()):
        toks = toks[1:-1]
    return " ".join(draw(mutate(toks)))


@st.composite
def random_terms(draw: st.DrawFn, fields: tuple[Field, ...]) -> str:
    """A term built from the grammar's pieces over ``fields``: mostly well-formed, rarely
    invariant.  Derivatives sometimes list the wrong gauge groups."""
    objects: list[list[str]] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["field"] * 4 + ["derivative", "sigma", "commutator"]))
        f = draw(st.sampled_from(fields))
        conj = draw(st.booleans())
        if kind == "derivative":
            groups = charged_groups(f)
            if draw(st.integers(0, 9)) == 0:
                groups = [g for g in GAUGE_GROUPS if draw(st.booleans())]
            objects.append(["DERIVATIVE", *groups])
        if kind in ("field", "derivative"):
            objects.append(f.tokens(conj))
        elif kind == "sigma":
            objects.append(["SIGMA_BAR"])
        elif kind == "commutator":
            part = draw(st.sampled_from("AB"))
            objects.append(
                [f"COMMUTATOR_{part}", "DERIVATIVE", draw(st.sampled_from(GAUGE_GROUPS))]
            )
    labels = draw(st.permutations(IDS))[: len(objects)]
    out = [draw(st.sampled_from(["+", "-", "+ i", "- i"]))]
    for obj, label in zip(objects, labels):
        out += [*obj, label]
    out.append("CONTRACTIONS")
    for _ in range(draw(st.integers(0, 5))):
        size = draw(st.integers(2, 3))
        members = draw(st.lists(st.sampled_from(labels), min_size=size, max_size=size))
        out += [draw(st.sampled_from(CONTRACTION_GROUPS)), *members]
    return " ".join(out)


def relabel(term: str, perm: list[str]) -> str:
    return re.sub(r"\bID(\d)\b", lambda m: perm[int(m.group(1))], term)


# -- field lists -----------------------------------------------------------------------------------
@fuzz("soup/fields")
@given(text=soup)
@example(text="FIELD SPIN 0 U1 " + "9" * 5000)  # was: ValueError from int() (4300-digit limit)
@example(text="FIELD SPIN ²")  # was: ValueError ('²'.isdigit() is True, int('²') fails)
def test_token_soup_fields(text):
    fields = attempt("soup/parse_fields", FIELD_CULPRIT, parse_fields, text)
    if fields is not None:
        assert parse_fields(fields_tokens(fields)) == fields


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FIELD SPIN 0 U1 " + "9" * 5000, "field 1, U1: "),  # was: ValueError from int()
        ("FIELD SPIN ²", "field 1, SPIN: "),  # was: ValueError from int('²')
        ("FIELD SPIN 0 U1 ٣", "field 1, U1: "),  # was: read as 3
    ],
)
def test_numbers_are_short_runs_of_ascii_digits(text, message):
    with pytest.raises(LagnbError, match=re.escape(message)):
        parse_fields(text)


@fuzz("mutated/fields")
@given(text=field_strings())
@example(text="[SOS] FIELD SPIN 1/2 SU3 3bar HEL -1/2 [EOS]")
@example(text="FIELD SPIN 0 SU2 2 U1 1 DAGGER")
def test_near_valid_field_strings(text):
    fields = attempt("mutated/parse_fields", FIELD_CULPRIT, parse_fields, text)
    if fields is not None:
        assert parse_fields(fields_tokens(fields)) == fields


# -- terms -----------------------------------------------------------------------------------------
SM_PLUS = (
    Field.left(3, 2, "1/3"),
    Field.right(3, 1, "4/3"),
    Field.left(1, 2, -1),
    Field.right(1, 1, -2),
    Field.scalar(1, 2, 1),
    Field.scalar(8, 3, 0),
    Field.scalar(-6, 1, "2/3"),
)
HIGGS_LAGRANGIAN = lagrangian([Field.scalar(1, 2, 1)]).tokens()


@fuzz("soup/term")
@given(text=soup, signed=st.booleans())
@example(text="FIELD SPIN 7 ID0 CONTRACTIONS", signed=True)  # names object 1, not "field 1"
@example(text="DERIVATIVE ID0 DERIVATIVE ID1 FIELD SPIN 0 ID2 CONTRACTIONS", signed=True)
def test_token_soup_terms(text, signed):
    text = "+ " + text if signed else text
    s = attempt("soup/parse_structure", TERM_CULPRIT, parse_structure, text)
    t = attempt("soup/parse_term", TERM_CULPRIT, parse_term, SM_PLUS, text)
    assert s is not None or t is None  # parse_term reads terms with parse_structure
    verdict("soup/check_term", check_term(SM_PLUS, text))
    # a prediction never raises; a malformed true Lagrangian names its term
    score = score_lagrangian(text, HIGGS_LAGRANGIAN)
    assert score.n_malformed <= score.n_pred == len(split_terms(text))
    attempt("soup/score as truth", re.compile(r"malformed term ['\"]"), score_lagrangian, "", text)
    for c in check_lagrangian(SM_PLUS, text):
        verdict("soup/check_lagrangian", c)


@fuzz("mutated/term")
@given(data=st.data(), fields=field_lists)
def test_mutated_engine_terms(data, fields):
    term = data.draw(st.sampled_from(engine_terms(fields)))
    original = check_term(fields, term)
    assert original.valid
    if data.draw(st.integers(0, 4)) == 0:  # relabelled: labels are arbitrary
        perm = data.draw(st.permutations(IDS))
        c = verdict("relabelled/check_term", check_term(fields, relabel(term, perm)))
        assert (c.valid, c.match, c.match_conjugate) == (
            True,
            original.match,
            original.match_conjugate,
        )
        return
    toks = term.split()
    if data.draw(st.booleans()):
        toks = data.draw(mutate(toks))
    else:  # the objects kept, one contraction entry changed: parses, mostly invalid
        start = toks.index("CONTRACTIONS") + 1
        if start < len(toks):
            labels = [t for t in toks[:start] if t in IDS]
            k = data.draw(st.integers(start, len(toks) - 1))
            toks[k] = data.draw(st.sampled_from([*labels, *CONTRACTION_GROUPS]))
    text = " ".join(toks)
    attempt("mutated/parse_structure", TERM_CULPRIT, parse_structure, text)
    attempt("mutated/canonical_key", TERM_CULPRIT, canonical_key, text)
    attempt("mutated/parse_term", TERM_CULPRIT, parse_term, fields, text)
    verdict("mutated/check_term", check_term(fields, text))


@fuzz("random/term")
@given(data=st.data(), fields=field_lists)
def test_random_terms_over_random_fields(data, fields):
    text = data.draw(random_terms(fields))
    c = verdict("random/check_term", check_term(fields, text))
    if c.parses:
        # the parsed term written back in lagnb's form gets the same verdict
        again = check_term(fields, c.term.tokens(fields))
        assert (again.status, again.match) == (c.status, c.match), text


# -- the command line ------------------------------------------------------------------------------
def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    fields = draw(st.one_of(field_strings(), soup))
    if draw(st.booleans()):
        valid = draw(field_lists)
        term = draw(st.one_of(soup, random_terms(tuple(valid))))
        if draw(st.booleans()):
            fields = fields_tokens(valid)
        return ["check", fields, term]
    flags = draw(
        st.sampled_from([[], ["--json"], ["--latex"], ["--tokens"], ["--tokens", "--no-hc"]])
    )
    return ["lagrangian", *flags, fields]


@fuzz("cli")
@given(argv=command_lines())
@example(argv=["lagrangian", "FIELD SPIN 0 U1 " + "1" * 5000])
def test_command_line(argv):
    code, out, err = run_cli(argv)
    name = f"cli/{argv[0]}"
    if code == 0 or (argv[0] == "check" and code == 1):  # 1: the term is invalid
        assert out.strip()
        TALLY[(name, "result")] += 1
        return
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    head = f"lagnb {argv[0]}: error: "
    assert lines[0].startswith(head) or lines[0].startswith("lagnb: error: "), lines
    msg = lines[0].split(": error: ", 1)[1]
    assert FIELD_CULPRIT.search(msg) or TERM_CULPRIT.search(msg) or USAGE_CULPRIT.search(msg), (
        f"the message names no culprit: {msg!r}"
    )
    TALLY[(name, "error")] += 1


# -- the CSV import --------------------------------------------------------------------------------
HEADERS = (
    ["fields", "Lagrangian", "train/eval"],
    ["fields", "Lagrangian"],
    ["", "fields", "Lagrangian", "train/eval"],  # a pandas index column
    ["input", "target", "split"],
)
SPLIT_VALUES = st.sampled_from(["train", "eval", "test", "TRAIN", " valid ", "", "junk", "nan"])


@st.composite
def csv_files(draw: st.DrawFn) -> str:
    """A CSV in the public BART-L layout: good, mutated and junk rows, odd cells, ragged rows."""
    header = draw(st.sampled_from(HEADERS))
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 4))):
        valid = draw(field_lists)
        good = fields_tokens(valid).replace("1 / 2", "1/2").replace("- 1/2", "-1/2")
        cells = {
            "fields": draw(st.one_of(st.just(good), field_strings(), soup)),
            "Lagrangian": draw(st.one_of(st.just(" ".join(engine_terms(valid))), soup)),
            "train/eval": draw(st.one_of(st.sampled_from(["train", "eval"]), SPLIT_VALUES)),
        }
        row = [cells.get(h, "0") for h in ("", "fields", "Lagrangian", "train/eval")]
        row = row[4 - len(header) :] if header[0] == "" else row[1 : 1 + len(header)]
        match draw(st.integers(0, 9)):
            case 0:
                row = row[:-1]  # a missing cell
            case 1:
                row = [*row, "extra"]  # one cell too many
            case 2:
                row = [c.replace(" ", ",", 1) for c in row]  # a comma inside a cell (quoted)
        writer.writerow(row)
    text = lines.getvalue()
    if draw(st.integers(0, 19)) == 0:
        text = text.replace('"', "", 1)  # an unbalanced quote
    return text


@fuzz("csv")
@given(text=csv_files(), skip=st.booleans(), chunk=st.integers(1, 3))
@example(text="", skip=False, chunk=1)
@example(text="fields,Lagrangian\nFIELD SPIN 0,+ x,extra,extra\n", skip=False, chunk=1)
def test_csv_import(text, skip, chunk):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bart-l.csv"
        path.write_text(text)
        out = _import(path, Path(tmp) / "data", skip, chunk)
        if out is not None:
            meta = read_meta(out)
            info = meta["phases"]["main"]
            assert (
                sum(meta["counts"].values()) == info["rows"] - info["duplicates"] - info["errors"]
            )


def _import(path: Path, out: Path, skip: bool, chunk: int) -> Path | None:
    def run() -> Path:
        return import_bart_l_csv(
            path,
            out,
            workers=1,
            progress=False,
            chunk_rows=chunk,
            on_error="skip" if skip else "raise",
        )

    culprit = re.compile(CSV_CULPRIT.format(path=re.escape(str(path))))
    return attempt("csv/import_bart_l_csv", culprit, run)
