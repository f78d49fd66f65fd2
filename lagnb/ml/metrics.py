"""Scoring a generated Lagrangian against the true one, term by term.

Two families of figures:

* **term F1 / exact match** (lagnb's own): each term is reduced to a *label-invariant canonical
  key* — its sign (and ``i``), the multiset of its objects (a field or conjugate with its quantum
  numbers, a covariant derivative, σ̄^μ, a commutator half), which derivative/commutator acts on
  which object, and its index contractions as sets of objects, minimised over the relabellings
  of identical objects.  Two terms that differ only by their ``IDk`` labels (random within a term
  in the public data) or by the order of identical objects get the same key.  Precision, recall
  and F1 compare the multisets of keys; *exact* means the multisets are equal and nothing is
  malformed.
* **the BART-L paper's metric** (so figures compare with arXiv 2501.09729): a predicted term
  matches a true term when it has the same number of tokens, the same multiset of objects
  (labels removed) and the same contraction structure (each contraction as the multiset of
  objects it joins, per group).  N_correct = true terms matched one-to-one by a prediction,
  N_extra = max(0, N_pred − N_true), **S = (N_correct − N_extra) / N_true** (can be negative),
  S_object = true terms with an object-multiset match / N_true, length penalty
  = N_extra / N_true.

A constant output earns a fair F1 from the gauge kinetic terms alone (they depend only on which
groups act), so two more figures say whether the model read its input: ``f1_no_gauge``, the
term F1 with gauge kinetic terms left out of both sides, and the recall per term kind
(``by_kind``: kind → (true terms found, true terms)).

Terms are read with :func:`lagnb.physics.tokens.parse_structure`, the package's one reader of
the term grammar.  A predicted term that does not parse (*malformed*) is counted as a wrong
prediction and reported, never raised.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import permutations, product

from lagnb.errors import LagnbError, TokenError
from lagnb.physics.tokens import TermStructure, parse_structure, split_terms

MAX_RELABELLINGS = 40320
"""Beyond this many relabellings of identical objects the key falls back to a weaker form."""


def canonical_key(term: str | TermStructure) -> tuple:
    """The label-invariant canonical key of a term (see the module docstring)."""
    s = parse_structure(term) if isinstance(term, str) else term
    order = sorted(range(len(s.objects)), key=lambda k: s.objects[k])
    classes: dict[str, list[int]] = {}
    for k in order:
        classes.setdefault(s.objects[k], []).append(k)
    groups = list(classes.values())
    n_relabel = math.prod(math.factorial(len(g)) for g in groups)
    edges = [(g, m) for g, m in s.contractions] + [("NEXT", link) for link in s.links]
    if n_relabel > MAX_RELABELLINGS:
        cls = {k: s.objects[k] for k in range(len(s.objects))}
        weak = sorted((g, tuple(sorted(cls[p] for p in m))) for g, m in edges)
        return (s.head, tuple(sorted(s.objects)), ("weak", tuple(weak)))
    best = None
    for perm in product(*(permutations(g) for g in groups)):
        pos: dict[int, int] = {}
        n = 0
        for members in perm:
            for k in members:
                pos[k] = n
                n += 1
        enc = tuple(
            sorted(
                (g, tuple(pos[p] for p in m) if g == "NEXT" else tuple(sorted(pos[p] for p in m)))
                for g, m in edges
            )
        )
        if best is None or enc < best:
            best = enc
    return (s.head, tuple(sorted(s.objects)), best)


def paper_key(term: str | TermStructure) -> tuple:
    """The BART-L paper's match key: token count, object multiset, contractions as object
    multisets per group (order- and label-invariant)."""
    s = parse_structure(term) if isinstance(term, str) else term
    contr = sorted((g, tuple(sorted(s.objects[p] for p in m))) for g, m in s.contractions)
    return (s.n_tokens, tuple(sorted(s.objects)), tuple(contr))


def object_key(term: str | TermStructure) -> tuple:
    """The multiset of a term's objects (labels removed): the paper's object-level match."""
    s = parse_structure(term) if isinstance(term, str) else term
    return tuple(sorted(s.objects))


@dataclass(frozen=True)
class LagrangianScore:
    """Scores of one predicted Lagrangian against the true one."""

    n_true: int
    n_pred: int
    n_malformed: int
    n_correct: int
    precision: float
    recall: float
    f1: float
    exact: bool
    paper_correct: int
    paper_extra: int
    paper_score: float
    paper_object_score: float
    length_penalty: float
    malformed_terms: tuple[str, ...] = ()
    f1_no_gauge: float = float("nan")
    by_kind: tuple[tuple[str, int, int], ...] = ()
    """(kind, true terms of that kind found, true terms of that kind), kinds in
    :data:`TERM_KINDS` order."""

    def recall_of(self, kind: str) -> float:
        """Recall of the true terms of one kind (NaN when the true Lagrangian has none)."""
        for k, found, n in self.by_kind:
            if k == kind:
                return found / n
        return float("nan")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["malformed_terms"] = list(self.malformed_terms)
        d["by_kind"] = {k: [found, n] for k, found, n in self.by_kind}
        return d


def _overlap(a: Counter, b: Counter) -> int:
    return sum((a & b).values())


TERM_KINDS = ("yukawa", "trilinear", "quartic", "kinetic", "gauge_kinetic", "mass", "other")
"""Term kinds in reporting order (see :func:`lagnb.physics.tokens.kind_of`)."""


def _f1(correct: int, n_pred: int, n_true: int) -> float:
    precision = correct / n_pred if n_pred else (1.0 if n_true == 0 else 0.0)
    recall = correct / n_true if n_true else 1.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _per_kind(
    structures: Sequence[TermStructure], true_keys: Counter, pred_keys: Counter
) -> tuple[tuple[str, int, int], ...]:
    kinds: dict[str, Counter] = {}
    for st in structures:
        kinds.setdefault(st.kind, Counter())[canonical_key(st)] += 1
    return tuple(
        (k, _overlap(kinds[k], pred_keys), sum(kinds[k].values())) for k in TERM_KINDS if k in kinds
    )


def score_lagrangian(predicted: str, true: str) -> LagrangianScore:
    """Score a predicted Lagrangian token string against the true one (never raises on a bad
    prediction; a malformed *true* Lagrangian is an error)."""
    true_terms = split_terms(true)
    pred_terms = split_terms(predicted)
    structures = []
    for t in true_terms:
        try:
            structures.append(parse_structure(t))
        except LagnbError as exc:
            raise TokenError(f"the true Lagrangian has a malformed term {t!r}: {exc}") from None
    pred_structures: list[TermStructure] = []
    malformed: list[str] = []
    for t in pred_terms:
        try:
            pred_structures.append(parse_structure(t))
        except LagnbError:
            malformed.append(t)
    true_keys = Counter(canonical_key(s) for s in structures)
    pred_keys = Counter(canonical_key(s) for s in pred_structures)
    n_true, n_pred = len(true_terms), len(pred_terms)
    correct = _overlap(true_keys, pred_keys)
    precision = correct / n_pred if n_pred else (1.0 if n_true == 0 else 0.0)
    recall = correct / n_true if n_true else 1.0
    f1 = _f1(correct, n_pred, n_true)
    exact = not malformed and true_keys == pred_keys
    true_ng = Counter(canonical_key(s) for s in structures if s.kind != "gauge_kinetic")
    pred_ng = Counter(canonical_key(s) for s in pred_structures if s.kind != "gauge_kinetic")
    f1_no_gauge = _f1(_overlap(true_ng, pred_ng), pred_ng.total() + len(malformed), true_ng.total())
    # the paper's metric
    p_true = Counter(paper_key(s) for s in structures)
    p_pred = Counter(paper_key(s) for s in pred_structures)
    paper_correct = _overlap(p_true, p_pred)
    extra = max(0, n_pred - n_true)
    o_true = Counter(object_key(s) for s in structures)
    o_pred = Counter(object_key(s) for s in pred_structures)
    denom = n_true or 1
    return LagrangianScore(
        n_true=n_true,
        n_pred=n_pred,
        n_malformed=len(malformed),
        n_correct=correct,
        precision=precision,
        recall=recall,
        f1=f1,
        exact=exact,
        paper_correct=paper_correct,
        paper_extra=extra,
        paper_score=(paper_correct - extra) / denom,
        paper_object_score=_overlap(o_true, o_pred) / denom,
        length_penalty=extra / denom,
        malformed_terms=tuple(malformed),
        f1_no_gauge=f1_no_gauge,
        by_kind=_per_kind(structures, true_keys, pred_keys),
    )


MISS_CLASSES = ("right", "same_fields", "absent")
"""How a prediction fares on one true term (:func:`misses_of_kind`)."""


def _field_multiset(s: TermStructure) -> tuple[str, ...]:
    return tuple(sorted(repr(f[0]) for f in s.fields if f is not None))


def misses_of_kind(predicted: str, true: str, kind: str = "yukawa") -> dict[str, int]:
    """Sort the true terms of one kind (:data:`TERM_KINDS`) into ``right`` (the prediction has
    the term), ``same_fields`` (it has not, but one of its other terms holds the same fields
    with another conjugation or contraction: the model found the fields and got the rest
    wrong) and ``absent`` (no predicted term holds those fields).  Each predicted term serves
    one true term at most; malformed predicted terms are ignored."""
    if kind not in TERM_KINDS:
        raise LagnbError(f"unknown term kind {kind!r}; use one of {', '.join(TERM_KINDS)}")
    true_structures = [parse_structure(t) for t in split_terms(true)]
    pred: list[tuple[tuple, TermStructure]] = []
    for t in split_terms(predicted):
        try:
            st = parse_structure(t)
        except LagnbError:
            continue
        pred.append((canonical_key(st), st))
    pred_keys = Counter(key for key, _ in pred)
    true_keys = Counter(canonical_key(t) for t in true_structures)
    # predicted terms that match no true term may stand for a true term with other daggers
    spare = Counter()
    for key, p in pred:
        if true_keys[key] > 0:
            true_keys[key] -= 1
        else:
            spare[_field_multiset(p)] += 1
    out = dict.fromkeys(MISS_CLASSES, 0)
    for t in true_structures:
        if t.kind != kind:
            continue
        key = canonical_key(t)
        if pred_keys[key] > 0:
            pred_keys[key] -= 1
            out["right"] += 1
        elif spare[_field_multiset(t)] > 0:
            spare[_field_multiset(t)] -= 1
            out["same_fields"] += 1
        else:
            out["absent"] += 1
    return out
