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

    def as_dict(self) -> dict:
        d = asdict(self)
        d["malformed_terms"] = list(self.malformed_terms)
        return d


def _keys(terms: Sequence[str], key) -> tuple[Counter, list[str]]:
    keys: Counter = Counter()
    bad = []
    for t in terms:
        try:
            keys[key(t)] += 1
        except LagnbError:
            bad.append(t)
    return keys, bad


def _overlap(a: Counter, b: Counter) -> int:
    return sum((a & b).values())


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
    true_keys = Counter(canonical_key(s) for s in structures)
    pred_keys, malformed = _keys(pred_terms, canonical_key)
    n_true, n_pred = len(true_terms), len(pred_terms)
    correct = _overlap(true_keys, pred_keys)
    precision = correct / n_pred if n_pred else (1.0 if n_true == 0 else 0.0)
    recall = correct / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = not malformed and true_keys == pred_keys
    # the paper's metric
    p_true = Counter(paper_key(s) for s in structures)
    p_pred, _ = _keys(pred_terms, paper_key)
    paper_correct = _overlap(p_true, p_pred)
    extra = max(0, n_pred - n_true)
    o_true = Counter(object_key(s) for s in structures)
    o_pred, _ = _keys(pred_terms, object_key)
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
    )
