"""Teaching sessions: exercise checkers for the guided tour, and the Binder environment check.

Every checker takes the student's answer and returns an :class:`ExerciseResult` (``ok`` and a
message that says *why*, in physics terms, with a hint when the answer is wrong).  The right
answers are never hard-coded where the engine can derive them: the checkers ask
:func:`lagnb.physics.engine.lagrangian` and :func:`lagnb.physics.check.check_term`.

Conventions (as everywhere in lagnb): Q = T3 + Y/2, so the lepton doublet has Y = −1, the
right-handed electron Y = −2 and the Higgs doublet Y = +1.  A right-handed Weyl fermion and the
conjugate of a left-handed one with conjugate quantum numbers describe the same particles, so
the checkers accept either way of writing a fermion.
"""

from __future__ import annotations

import importlib.util
import numbers
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from lagnb.errors import LagnbError
from lagnb.physics.check import TermCheck, check_lagrangian, check_lagrangian_parsed
from lagnb.physics.engine import as_fields, lagrangian_parsed
from lagnb.physics.fields import HALF, Field
from lagnb.physics.terms import Lagrangian
from lagnb.physics.tokens import split_terms

# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExerciseResult:
    """The verdict on one exercise: ``ok`` and a message for the student."""

    ok: bool
    message: str

    def __str__(self) -> str:
        return ("✔ Correct. " if self.ok else "✘ Not yet. ") + self.message

    def __repr__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return self.ok


def _fraction(value: object, what: str) -> Fraction:
    try:
        return Field.scalar(y=value).y
    except LagnbError as exc:
        raise LagnbError(f"{what}: {exc}") from None


# -- fields up to the choice of chirality --------------------------------------------------------


def left_handed_form(f: Field) -> tuple[Fraction, int, int, Fraction]:
    """(spin, SU(3), SU(2), Y) of a field written as a scalar or a *left-handed* Weyl fermion.

    A right-handed fermion χ with quantum numbers (R3, R2, Y) is the conjugate of a
    left-handed fermion with (R̄3, R2, −Y): e_R (1, 1, −2) is the same as e^c_L (1, 1, +2).
    """
    if f.is_fermion and f.helicity == HALF:
        f = f.conjugate()
    return (f.spin, f.su3, f.su2, f.y)


def _charges(f: Field) -> list[Fraction]:
    """Electric charges Q = T3 + Y/2 of the SU(2) components of a colour-singlet field."""
    t3 = [Fraction(f.su2 - 1 - 2 * k, 2) for k in range(f.su2)]
    return [t + f.y / 2 for t in t3]


def _describe(f: Field) -> str:
    return f"{f.name + ' = ' if f.name else ''}{f.describe()}"


# -- exercise 1: the lepton sector ----------------------------------------------------------------

LEPTON_SECTOR: tuple[Field, ...] = (
    Field.left(1, 2, -1, name="L"),
    Field.right(1, 1, -2, name="e"),
)
"""One generation of SM leptons: the doublet L = (ν, e)_L and the singlet e_R."""


def check_lepton_sector(fields: Iterable[Field] | str) -> ExerciseResult:
    """Exercise: write the field list of one generation of Standard Model leptons.

    Accepted: L (1, 2, −1) left-handed and e (1, 1, −2) right-handed, in any order, with any
    names, each fermion either as written or as its conjugate of opposite chirality.
    """
    try:
        given = as_fields(fields)
    except LagnbError as exc:
        return ExerciseResult(False, f"the field list does not parse: {exc}")
    want = Counter(left_handed_form(f) for f in LEPTON_SECTOR)
    have = Counter(left_handed_form(f) for f in given)
    if have == want:
        conj = [f for f in given if f.is_fermion and f.helicity == HALF and f.su2 == 1]
        note = (
            " The singlet is written right-handed (e_R); e^c_L (1, 1, +2) would be the same."
            if conj
            else " You wrote the singlet as the left-handed antilepton e^c (1, 1, +2) — the "
            "same particles as e_R (1, 1, −2)."
        )
        return ExerciseResult(
            True,
            "L = (ν, e)_L is a left-handed SU(2) doublet with Y = −1 (charges 0 and −1), and "
            "the right-handed electron is a singlet with Y = −2 (charge −1)." + note,
        )
    hints: list[str] = []
    for f in given:
        q = ", ".join(str(c) for c in _charges(f))
        if f.is_scalar:
            hints.append(f"{_describe(f)} is a scalar; leptons are Weyl fermions (spin 1/2)")
        elif f.su3 != 1:
            hints.append(f"{_describe(f)} carries colour; leptons are SU(3) singlets")
        elif left_handed_form(replace(f, helicity=-f.helicity)) in want:
            hand = "left" if f.helicity < 0 else "right"
            hints.append(
                f"{_describe(f)} has charges Q = T3 + Y/2 = {q} and is {hand}-handed, which "
                "no SM lepton field is: flip the sign of Y or the chirality (a right-handed "
                "field is the conjugate of a left-handed one with opposite charges)"
            )
        elif left_handed_form(f) not in want:
            hints.append(
                f"{_describe(f)} has electric charges Q = T3 + Y/2 = {q}; "
                "leptons have charges 0 (ν) and −1 (e)"
                + (
                    " — a singlet with Y = 0 would be a right-handed neutrino, which the "
                    "Standard Model does not have"
                    if f.is_singlet
                    else ""
                )
            )
    n_want = sum(want.values())
    if len(given) < n_want:
        hints.append(
            f"{n_want - len(given)} field(s) missing: the SM has one lepton doublet and one "
            "lepton singlet per generation"
        )
    elif len(given) > n_want:
        hints.append(f"{len(given) - n_want} field(s) too many: list one generation, each once")
    if not hints:
        hints.append("one field per SU(2) representation: one doublet and one singlet")
    return ExerciseResult(False, "; ".join(hints) + ".")


# -- exercise 2: the type-II seesaw triplet -----------------------------------------------------


def check_triplet_hypercharge(y: object) -> ExerciseResult:
    """Exercise: which hypercharge must a scalar SU(2) triplet Δ have so that a Yukawa
    coupling L L Δ of two lepton doublets exists (the type-II seesaw)?

    The engine decides: the answer is right when ``lagrangian((L, Δ))`` has a Yukawa term with
    two lepton doublets.  Both Y = +2 (L L Δ) and Y = −2 (L L Δ†, the same physics with
    Δ ↔ Δ*) are accepted; +2 is the usual convention.
    """
    yy = _fraction(y, "hypercharge")
    lep = Field.left(1, 2, -1, name="L")
    delta = Field.scalar(1, 3, yy, name=r"\Delta")
    lag = lagrangian_parsed((lep, delta))
    found = [t for t in lag.by_kind("yukawa") if sum(f.field == 0 for f in t.field_factors) == 2]
    if found:
        conj = any(f.conjugate for f in found[0].field_factors if f.field == 1)
        return ExerciseResult(
            True,
            f"with Y_Δ = {yy} the engine finds the Yukawa L L Δ{'†' if conj else ''}: "
            "two doublets make a triplet (2 ⊗ 2 = 1 ⊕ 3) with Y = −2, which Δ"
            f"{'†' if conj else ''} cancels. Its vacuum value gives neutrinos a Majorana mass."
            + ("" if yy > 0 else " (Y = +2 is the usual convention, with Δ⁺⁺ ∈ Δ.)"),
        )
    return ExerciseResult(
        False,
        f"with Y_Δ = {yy} there is no L L Δ coupling: the hypercharges of L L Δ add up to "
        f"{-2 + yy}, and of L L Δ† to {-2 - yy}. One of them must vanish.",
    )


# -- exercise 3: counting quartics in the two-Higgs-doublet model -------------------------------


def two_higgs_doublets() -> tuple[Field, Field]:
    """Two Higgs doublets (1, 2, 1) — the 2HDM's scalar sector."""
    return (Field.scalar(1, 2, 1, name="H_1"), Field.scalar(1, 2, 1, name="H_2"))


def check_2hdm_quartics(n: object) -> ExerciseResult:
    """Exercise: how many independent quartic terms does the two-Higgs-doublet potential have?

    The count is the engine's (each ``O + h.c.`` counted once): λ1 … λ7 in the usual notation,
    of which λ5, λ6, λ7 multiply non-hermitian operators and are complex.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        return ExerciseResult(False, f"answer with a whole number, not {n!r}")
    quartics = lagrangian_parsed(two_higgs_doublets()).by_kind("quartic")
    want = len(quartics)
    complex_ = sum(not t.hermitian for t in quartics)
    n = int(n)
    if n == want:
        return ExerciseResult(
            True,
            f"{want} quartic operators (λ1 … λ{want}); {complex_} of them are not hermitian "
            f"and come with '+ h.c.' and a complex coupling, so the potential has "
            f"{want + complex_} real quartic parameters.",
        )
    hint = (
        "remember that (H1† H2)(H2† H1) and (H1† H1)(H2† H2) are different SU(2) contractions "
        "of the same fields, and that (H1† H2)² is not hermitian but counts once (+ h.c.)"
    )
    return ExerciseResult(False, f"{n} is {'too few' if n < want else 'too many'}: {hint}.")


# -- exercise 4: spotting the invalid terms of a model output ------------------------------------

RELEASED_MODEL_HIGGS_OUTPUT = (
    "+ FIELD SPIN 0 SU2 2 U1 1 ID4 FIELD SPIN 0 SU2 2 U1 1 ID7 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER "
    "ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID9 CONTRACTIONS SU2 ID4 ID0 SU2 ID7 ID9 "
    "+ FIELD SPIN 0 SU2 2 U1 1 ID6 FIELD SPIN 0 SU2 2 U1 1 ID4 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER "
    "ID2 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID0 CONTRACTIONS SU2 ID6 ID4 SU2 ID2 ID0 "
    "+ DERIVATIVE SU2 U1 ID6 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID7 DERIVATIVE SU2 U1 ID0 "
    "FIELD SPIN 0 SU2 2 U1 1 ID4 CONTRACTIONS LORENTZ ID6 ID0 SU2 ID7 ID4 "
    "- COMMUTATOR_A DERIVATIVE SU2 ID6 COMMUTATOR_B DERIVATIVE SU2 ID0 COMMUTATOR_A DERIVATIVE "
    "SU2 ID4 COMMUTATOR_B DERIVATIVE SU2 ID1 CONTRACTIONS LORENTZ ID6 ID4 LORENTZ ID0 ID1 "
    "- COMMUTATOR_A DERIVATIVE U1 ID6 COMMUTATOR_B DERIVATIVE U1 ID0 COMMUTATOR_A DERIVATIVE "
    "U1 ID4 COMMUTATOR_B DERIVATIVE U1 ID1 CONTRACTIONS LORENTZ ID6 ID4 LORENTZ ID0 ID1 "
    "+ FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID6 FIELD SPIN 0 SU2 2 U1 1 ID7 CONTRACTIONS SU2 ID6 ID7"
)
"""What the released BART-L model wrote for the Higgs doublet ``[SOS] FIELD SPIN 0 SU2 2 U1 1
[EOS]`` (from its authors' public notebook): six terms, of which the second is an ε-contraction
of two identical doublets — identically zero."""

HIGGS_INPUT = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"


def explain(check: TermCheck) -> str:
    """``check.explain()`` with the reasons in a fixed order (messages about a whole term
    first, then those about single objects ``IDk``), so notebook outputs do not depend on
    set iteration order."""
    if check.valid:
        return check.explain()
    reasons = sorted(check.reasons, key=lambda r: (r.startswith("ID"), r))
    return "Invalid: " + "; ".join(reasons) + "."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def invalid_terms(fields: Iterable[Field] | str, text: str) -> list[int]:
    """0-based positions of the terms of ``text`` that the checker rejects."""
    return [k for k, c in enumerate(check_lagrangian(fields, text)) if not c.valid]


def check_invalid_terms(
    fields: Iterable[Field] | str, text: str, answer: Iterable[int]
) -> ExerciseResult:
    """Exercise: which terms (0-based positions) of a Lagrangian string are invalid?

    The checker's verdicts are the reference; the message quotes its explanation of each.
    """
    try:
        picked = sorted({int(k) for k in answer})
    except (TypeError, ValueError):
        return ExerciseResult(False, f"answer with a list of term positions, not {answer!r}")
    checks = check_lagrangian(fields, text)
    n = len(checks)
    out_of_range = [k for k in picked if not 0 <= k < n]
    if out_of_range:
        return ExerciseResult(False, f"there are {n} terms, numbered 0 … {n - 1}")
    bad = [k for k, c in enumerate(checks) if not c.valid]
    if picked == bad:
        why = "; ".join(f"term {k}: {explain(checks[k])}" for k in bad) or "all terms are valid"
        return ExerciseResult(True, why)
    missed = sorted(set(bad) - set(picked))
    wrong = sorted(set(picked) - set(bad))
    parts = []
    if missed:
        parts.append(f"{len(missed)} invalid term(s) not found yet")
    if wrong:
        parts.append(f"term(s) {', '.join(map(str, wrong))} are valid")
    hint = (
        "look for terms with the same fields as another term but a different contraction, "
        "and ask whether an ε of two identical bosons can be non-zero"
    )
    return ExerciseResult(False, "; ".join(parts) + f". Hint: {hint}.")


# -- helpers for the tour -----------------------------------------------------------------------


def new_terms(before: Lagrangian, after: Lagrangian) -> Lagrangian:
    """The terms of ``after`` that ``before`` does not have (compared by their BART-L tokens,
    which name fields by quantum numbers, so adding fields to a list keeps old terms equal).

    Shows what each new field brings: add L and e to the Higgs and the lepton Yukawa appears.
    """
    old = set(before.term_tokens(hc=False))
    keep = tuple(t for t in after.terms if t.tokens(after.fields) not in old)
    return Lagrangian(after.fields, keep)


def latex_block(lag: Lagrangian) -> Any:
    """The Lagrangian as an IPython ``Latex`` object, one term per line, for ``display(...)``.

    (A plain ``display(lag)`` also renders it, but stores the long dataclass repr as the
    notebook's text output.)
    """
    from IPython.display import Latex

    return Latex(lag._repr_latex_())


def verdict_table(fields: Iterable[Field] | str, text: str, width: int = 90) -> str:
    """A plain-text table of a Lagrangian string's terms with the checker's verdict on each."""
    terms = split_terms(text)
    checks = check_lagrangian(fields, text)
    rows = []
    for k, (tok, c) in enumerate(zip(terms, checks)):
        kind = c.term.kind if c.term is not None else "?"
        short = tok if len(tok) <= width else tok[: width - 1] + "…"
        rows.append(f"{k:2d} {c.status:<9} {kind:<13} {short}")
        if not c.valid:
            rows.append(f"   └ {explain(c)}")
    head = f"{_plural(len(terms), 'term')}, {sum(c.valid for c in checks)} valid"
    return "\n".join([head, *rows])


def missing_terms(fields: Iterable[Field] | str, text: str) -> Lagrangian:
    """The engine's terms that no valid term of ``text`` (e.g. a model's output) equals.

    A term counts as found when the checker matches a valid generated term to it (or to its
    h.c.) up to a constant; what is left is what the model still has to learn.
    """
    fs = as_fields(fields)
    return _not_found(lagrangian_parsed(fs), check_lagrangian_parsed(fs, text))


def _not_found(lag: Lagrangian, checks: Iterable[TermCheck]) -> Lagrangian:
    """The terms of ``lag`` that no valid checked term matches (checked against
    ``lag.fields``)."""
    found = {c.match for c in checks if c.valid and c.match is not None}
    return Lagrangian(lag.fields, tuple(t for k, t in enumerate(lag.terms) if k not in found))


def load_model(model_path: str | Path = "") -> Any:
    """The model the tour asks: the folder ``model_path`` if given (relative to the working
    directory, else to the repository root), else the model shipped inside lagnb; on the CPU,
    without progress bars, so that notebook outputs stay the same from run to run.  Returns a
    :class:`lagnb.ml.model.Bundle` (see :func:`lagnb.ml.model.load_bundle`)."""
    from lagnb.ml.model import load_bundle

    return load_bundle(model_path or None)


def compare_with_engine(fields: Iterable[Field] | str, text: str) -> str:
    """A few lines comparing a generated Lagrangian with the engine's: term counts, how many
    generated terms are valid, how many engine terms were found, term F1 and the BART-L
    paper's score S (figures rounded to two decimals)."""
    from lagnb.ml.metrics import score_lagrangian

    fs = as_fields(fields)
    lag = lagrangian_parsed(fs)
    checks = check_lagrangian_parsed(fs, text)
    score = score_lagrangian(text, lag.tokens())
    n_missing = len(_not_found(lag, checks).terms)
    valid = sum(c.valid for c in checks)
    malformed = sum(not c.parses for c in checks)
    invalid = len(checks) - valid - malformed
    return "\n".join(
        [
            f"engine: {len(lag.terms)} operators, {score.n_true} terms with the h.c. written out",
            f"model:  {_plural(len(checks), 'term')} — {valid} valid, {invalid} invalid, "
            f"{malformed} malformed",
            f"engine operators the model found: {len(lag.terms) - n_missing} of {len(lag.terms)}",
            f"term F1 = {score.f1:.2f}   paper score S = {score.paper_score:.2f}   "
            f"exact: {'yes' if score.exact else 'no'}",
        ]
    )


# -- the Binder environment -----------------------------------------------------------------------


def environment_problems(require_shipped_model: bool = True) -> list[str]:
    """What is wrong with this Python environment for a teaching session (empty when fine).

    Checks: torch is a CPU-only build (Binder has no GPU, and the CUDA build is ~19 packages
    and several GB), ipywidgets and its JupyterLab extension are installed, and the shipped
    model is in place (``lagnb/shipped/``).
    """
    problems = []
    import torch

    if torch.version.cuda is not None:
        problems.append(
            f"torch {torch.__version__} is a CUDA build (CUDA {torch.version.cuda}); install the "
            "CPU wheel from https://download.pytorch.org/whl/cpu"
        )
    for module, why in (
        ("ipywidgets", "the tour's interactive widgets"),
        ("jupyterlab_widgets", "widgets rendering in JupyterLab"),
        ("jupyterlab", "JupyterLab"),
        ("papermill", "running notebooks headlessly"),
    ):
        if importlib.util.find_spec(module) is None:
            problems.append(f"{module} is not installed (needed for {why})")
    if require_shipped_model:
        from lagnb.ml.model import shipped_model_path

        path = shipped_model_path()
        if not (path / "config.json").is_file():
            problems.append(f"the shipped model is missing: no config.json in {path}")
    return problems


def check_environment(require_shipped_model: bool = True) -> None:
    """Raise :class:`LagnbError` listing every problem found by :func:`environment_problems`."""
    problems = environment_problems(require_shipped_model)
    if problems:
        raise LagnbError("teaching environment not ready:\n- " + "\n- ".join(problems))
