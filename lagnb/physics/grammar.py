"""The BART-L output grammar as a token-by-token state machine, for constrained decoding.

A Lagrangian is a sequence of terms::

    term     := SIGN ["i"] object+ "CONTRACTIONS" group*
    SIGN     := "+" | "-"
    object   := field ID | "DERIVATIVE" G* ID | "SIGMA_BAR" ID
              | ("COMMUTATOR_A" | "COMMUTATOR_B") "DERIVATIVE" G ID
    field    := "FIELD" "SPIN" n ["SU3" n] ["SU2" n] ["U1" n] ["HEL" n] ["DAGGER"]
    group    := ("LORENTZ" | "SU3" | "SU2") ID ID [ID]

and the whole string ends in ``[EOS]``.  The machine is *field-aware*: a ``FIELD`` block must
spell one of the input fields or its conjugate exactly as :meth:`lagnb.physics.fields.Field.tokens`
writes it, a ``DERIVATIVE`` carries the gauge groups of the field it acts on (and must be
followed by that field), commutators and contractions use only groups under which some field
is charged, ID labels are fresh within a term and contractions name labels in use.

The same machine reads the *compact* spelling of a model trained on compact targets
(``spelling="compact"``, see :mod:`lagnb.ml.targets`): a field object is a reference ``F<k>``
or ``F<k> DAGGER`` to the first input field with that spelling, a covariant derivative is a
bare ``DERIVATIVE ID`` followed by the field object it acts on; everything else is unchanged::

    field    := F<k> ["DAGGER"]                       (k < MAX_FIELD_REFS)
    object   := field ID | "DERIVATIVE" ID field ID | …

With ``capacity=True`` (default) contractions also respect how many indices each object has:
a fermion or a derivative carries one Lorentz index, σ̄^μ three, a commutator half one; an
object in SU(3) rep (p, q) carries p + q SU(3) indices, an SU(2) n-plet n − 1 SU(2) indices; a
contraction group joins two objects (three for an SU(3) ε).  These are necessary conditions for
gauge and Lorentz invariance, so every engine term passes, and they bound the length of a term.

Everything the machine accepts parses with :func:`lagnb.physics.tokens.parse_term`; whether a
term is *valid* (invariant, non-zero) is the term checker's job (:mod:`lagnb.physics.check`).

:func:`lagnb.ml.decoding.search` applies the machine to generation, and
:class:`lagnb.ml.decoding.GrammarLogitsProcessor` to ``transformers``' own ``generate``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lagnb.errors import LagnbError
from lagnb.physics.engine import as_fields
from lagnb.physics.fields import Field, split_tokens
from lagnb.physics.groups import su2_slots, su3_slots
from lagnb.physics.terms import charged_groups
from lagnb.physics.tokens import COMMUTATORS, EOS, FIELD_REFS, IDS, MAX_FIELD_REFS, SIGNS
from lagnb.physics.tokens import CONTRACTION_GROUPS as GROUP_KEYS
from lagnb.physics.tokens import GAUGE_GROUPS as GAUGE_ORDER

SPELLINGS = ("bart-l", "compact")
"""How the machine spells field objects and derivatives: BART-L, or the compact model targets."""

ANY_FIELD: tuple[str, ...] = ("*",)
"""``GrammarState.pending`` after a compact ``DERIVATIVE ID``: any field object may follow
(in BART-L ``pending`` holds the derivative's gauge groups, which select the fields)."""

MAX_MEMBERS = {"LORENTZ": 2, "SU3": 3, "SU2": 2}
"""Most objects one contraction group joins: a Lorentz pair, an SU(3) ε, an SU(2) ε or δ."""

# Phases of the machine.
START = "start"  # before the first term: a sign
BOUNDARY = "boundary"  # after a complete term (only as a start state): a sign or [EOS]
SIGN = "sign"  # after the sign: "i" or a term opener
IMAG = "imag"  # after "i": a term opener
OBJECT = "object"  # after an object's ID: another object or CONTRACTIONS
FIELD_ = "field"  # inside a FIELD block
DERIV = "deriv"  # after DERIVATIVE (and some groups)
COMM = "comm"  # after COMMUTATOR_X: "DERIVATIVE"
COMM_G = "comm_g"  # after COMMUTATOR_X DERIVATIVE: one group
LABEL = "label"  # an object's ID label
CONTR = "contr"  # after CONTRACTIONS, or after a complete group: a group, a sign, [EOS]
GROUP = "group"  # inside a contraction group
END = "end"  # after [EOS]: anything (generation pads)


class _Node:
    """A trie node over FIELD-block tokens; ``ends`` = a field object may end here."""

    __slots__ = ("children", "ends")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.ends: tuple[int, int, int] | None = None  # capacities (LORENTZ, SU3, SU2)


def _trie(objects: Iterable[tuple[tuple[str, ...], tuple[int, int, int]]]) -> _Node:
    root = _Node()
    for toks, caps in objects:
        node = root
        for tok in toks:
            node = node.children.setdefault(tok, _Node())
        node.ends = caps
    return root


@dataclass(frozen=True)
class GrammarState:
    """Where the machine is: an immutable value, advanced by :meth:`Grammar.advance`.

    ``terms`` counts the terms begun since the start state; ``caps`` maps each label used in
    the current term to its remaining (LORENTZ, SU3, SU2) index capacity; ``pending`` is set
    after a derivative's label: the gauge groups of the field it must act on next
    (:data:`ANY_FIELD` in the compact spelling).
    """

    phase: str = START
    terms: int = 0
    caps: tuple[tuple[str, tuple[int, int, int]], ...] = ()
    node: _Node | None = field(default=None, compare=False)
    derivative: tuple[str, ...] | None = None
    pending: tuple[str, ...] | None = None
    obj_caps: tuple[int, int, int] = (0, 0, 0)
    group: str | None = None
    members: tuple[str, ...] = ()

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(k for k, _ in self.caps)

    @property
    def at_term_end(self) -> bool:
        """True when the current term is complete (a sign or ``[EOS]`` may follow)."""
        return self.phase in (BOUNDARY, CONTR) or (self.phase == GROUP and len(self.members) >= 2)


def _replace(s: GrammarState, **changes) -> GrammarState:
    """``dataclasses.replace`` for the machine's states, without its per-call introspection
    (it runs for every token of every beam)."""
    new = object.__new__(GrammarState)
    new.__dict__.update(s.__dict__, **changes)
    return new


_GROUP_INDEX = {"LORENTZ": 0, "SU3": 1, "SU2": 2}


class Grammar:
    """The token grammar of the Lagrangian of one field list.

    Args:
        fields: the field list (a BART-L input string or :class:`Field` objects).
        capacity: also enforce index capacities in contraction blocks (see module doc).
        spelling: ``"bart-l"`` (default) or ``"compact"``, the spelling of a model trained on
            compact targets (see module doc).  A compact grammar needs every distinct field
            among the first :data:`~lagnb.physics.tokens.MAX_FIELD_REFS` of the list.

    Callers inside lagnb that hold a parsed field list use :meth:`from_parsed`.
    """

    def __init__(
        self, fields: str | Iterable[Field], *, capacity: bool = True, spelling: str = "bart-l"
    ) -> None:
        self._build(as_fields(fields), capacity, spelling)

    @classmethod
    def from_parsed(
        cls, fields: tuple[Field, ...], *, capacity: bool = True, spelling: str = "bart-l"
    ) -> Grammar:
        """The grammar of a field list already parsed by
        :func:`~lagnb.physics.engine.as_fields` (a non-empty tuple of Fields)."""
        grammar = cls.__new__(cls)
        grammar._build(fields, capacity, spelling)
        return grammar

    def _build(self, fields: tuple[Field, ...], capacity: bool, spelling: str) -> None:
        if spelling not in SPELLINGS:
            raise LagnbError(f"unknown spelling {spelling!r}; choose one of {', '.join(SPELLINGS)}")
        self.fields: tuple[Field, ...] = fields
        self.capacity = capacity
        self.spelling = spelling
        objects: list[tuple[tuple[str, ...], tuple[int, int, int], tuple[str, ...]]] = []
        for k, f in enumerate(self.fields):
            if spelling == "compact" and self.fields.index(f) != k:
                continue  # a flavour: spelled by its first copy, F<first>
            p, q = su3_slots(f.su3)
            caps = (1 if f.is_fermion else 0, p + q, su2_slots(f.su2))
            for conj in (False, True):
                objects.append((self._spell(k, conj), caps, tuple(charged_groups(f))))
        self._objects = tuple(objects)
        self._tries: dict[tuple[str, ...] | None, _Node] = {
            None: _trie((t, c) for t, c, _ in objects)
        }
        for groups in {g for _, _, g in objects}:
            self._tries[groups] = _trie((t, c) for t, c, g in objects if g == groups)
        self._tries[ANY_FIELD] = self._tries[None]
        self._field_starts = frozenset(self._tries[None].children)
        self._allowed: dict[tuple[GrammarState, int], frozenset[str] | None] = {}
        self.derivative_groups: frozenset[tuple[str, ...]] = frozenset(g for _, _, g in objects)
        self.gauge_groups: tuple[str, ...] = tuple(
            g for g in GAUGE_ORDER if any(g in gs for gs in self.derivative_groups)
        )
        self.contraction_groups: tuple[str, ...] = (
            "LORENTZ",
            *(g for g in ("SU3", "SU2") if g in self.gauge_groups),
        )
        self.vocabulary: frozenset[str] = frozenset(
            {
                EOS,
                "i",
                "CONTRACTIONS",
                "SIGMA_BAR",
                *COMMUTATORS,
                "DERIVATIVE",
                *SIGNS,
                *IDS,
                *GROUP_KEYS,
                *GAUGE_ORDER,
            }
            | {t for toks, _, _ in objects for t in toks}
        )

    def _spell(self, k: int, conjugate: bool) -> tuple[str, ...]:
        """The tokens of field object ``k`` (conjugated or not) in this grammar's spelling."""
        if self.spelling == "bart-l":
            return tuple(self.fields[k].tokens(conjugate))
        if k >= MAX_FIELD_REFS:
            raise LagnbError(
                f"field {k + 1} ({self.fields[k].describe()}) has no compact reference: the "
                f"compact spelling names at most {MAX_FIELD_REFS} distinct fields "
                f"(F0–F{MAX_FIELD_REFS - 1})"
            )
        return (FIELD_REFS[k], "DAGGER") if conjugate else (FIELD_REFS[k],)

    def longest_term(self) -> int:
        """An upper bound on the tokens of one renormalizable term of these fields in this
        spelling, from its sign to its last contraction: a term of mass dimension ≤ 4 is at
        most four scalars, two fermions and a scalar, a fermion's kinetic term (σ̄, a
        derivative), a scalar's (two derivatives) or four field strengths; each object is its
        tokens and its label, and each index it carries costs at most 1.5 contraction tokens
        (a group key and two members join two indices; an SU(3) ε's three members, three).
        Generation searches over one term with this many tokens at most."""

        def weight(tokens: Sequence[str], caps: tuple[int, int, int]) -> float:
            return len(tokens) + 1 + 1.5 * sum(caps)

        scalar = max((weight(t, c) for t, c, _ in self._objects if c[0] == 0), default=0.0)
        fermion = max((weight(t, c) for t, c, _ in self._objects if c[0] == 1), default=0.0)
        groups = max(len(g) for _, _, g in self._objects) if self.spelling == "bart-l" else 0
        derivative = weight(("DERIVATIVE", *["G"] * groups), (1, 0, 0))
        shapes = [4 * scalar, 4 * weight(("COMMUTATOR_A", "DERIVATIVE", "G"), (1, 0, 0))]
        if fermion:
            sigma = weight(("SIGMA_BAR",), (3, 0, 0))
            shapes += [2 * fermion + scalar, sigma + derivative + 2 * fermion]
        if scalar:
            shapes.append(2 * derivative + 2 * scalar)
        return 3 + math.ceil(max(shapes))  # a sign, "i", CONTRACTIONS

    # -- states ------------------------------------------------------------------------------
    def initial(self) -> GrammarState:
        """The state before the first term."""
        return GrammarState(START)

    def boundary(self) -> GrammarState:
        """The state after a complete term (e.g. after a forced prefix): a sign or ``[EOS]``."""
        return GrammarState(BOUNDARY)

    # -- the machine -------------------------------------------------------------------------
    def _free(self, s: GrammarState) -> list[str]:
        used = s.labels
        return [t for t in IDS if t not in used]

    def allowed(self, s: GrammarState) -> frozenset[str] | None:
        """The tokens legal in state ``s`` (``None`` = anything, after ``[EOS]``)."""
        key = (s, id(s.node))  # states compare without their trie node
        if key not in self._allowed:
            if len(self._allowed) > 100_000:  # a grammar kept for many Lagrangians
                self._allowed.clear()
            self._allowed[key] = self._legal(s)
        return self._allowed[key]

    def _legal(self, s: GrammarState) -> frozenset[str] | None:
        ph = s.phase
        if ph == END:
            return None
        if ph == START:
            return frozenset(SIGNS)
        if ph == BOUNDARY:
            return frozenset((*SIGNS, EOS))
        if ph in (SIGN, IMAG):
            out = {*self._field_starts, "DERIVATIVE"}
            out |= {"COMMUTATOR_A"} if self.gauge_groups else set()
            return frozenset(out | ({"i"} if ph == SIGN else set()))
        if ph == OBJECT:
            if s.pending is not None:
                return frozenset(self._tries[s.pending].children)
            free = len(self._free(s))
            out = {"CONTRACTIONS"}
            if free >= 1:
                out |= {*self._field_starts, "SIGMA_BAR"}
                if self.gauge_groups:
                    out |= set(COMMUTATORS)
            if free >= 2:
                out.add("DERIVATIVE")
            return frozenset(out)
        if ph == FIELD_:
            assert s.node is not None
            out = set(s.node.children)
            if s.node.ends is not None:
                out |= set(self._free(s))
            return frozenset(out)
        if ph == DERIV:
            if self.spelling == "compact":  # no groups: the field object after the label says
                return frozenset(self._free(s))
            sel = s.derivative or ()
            n = len(sel)
            out = {g[n] for g in self.derivative_groups if len(g) > n and g[:n] == sel}
            if sel in self.derivative_groups:
                out |= set(self._free(s))
            return frozenset(out)
        if ph == COMM:
            return frozenset({"DERIVATIVE"})
        if ph == COMM_G:
            return frozenset(self.gauge_groups)
        if ph == LABEL:
            return frozenset(self._free(s))
        if ph == CONTR:
            return frozenset({*SIGNS, EOS, *self._open_groups(s)})
        if ph == GROUP:
            out = set(self._members(s))
            if len(s.members) >= 2:
                out |= {*SIGNS, EOS, *self._open_groups(s)}
            return frozenset(out)
        raise AssertionError(f"unknown phase {ph}")

    def _open_groups(self, s: GrammarState) -> list[str]:
        """Contraction groups that can still be completed (a first member exists)."""
        return [
            g for g in self.contraction_groups if self._members(_replace(s, group=g, members=()))
        ]

    def _members(self, s: GrammarState) -> list[str]:
        """Labels that may join the current group."""
        assert s.group is not None
        if len(s.members) >= MAX_MEMBERS[s.group]:
            return []
        k = _GROUP_INDEX[s.group]
        out = []
        for label, c in s.caps:
            if s.group == "LORENTZ" and label in s.members:
                continue
            if self.capacity and c[k] <= 0:
                continue
            if len(s.members) == 0:
                # a group needs a second member: another label (or this one) with room left
                others = sum(cc[k] > 0 or not self.capacity for lb, cc in s.caps if lb != label)
                if others == 0 and (s.group == "LORENTZ" or (self.capacity and c[k] < 2)):
                    continue
            out.append(label)
        return out

    def advance(self, s: GrammarState, tok: str) -> GrammarState | None:
        """The state after ``tok``, or ``None`` when ``tok`` is illegal in ``s``."""
        allowed = self.allowed(s)
        if allowed is not None and tok not in allowed:
            return None
        ph = s.phase
        if ph == END:
            return s
        if tok == EOS:
            return GrammarState(END, s.terms)
        if tok in SIGNS and ph in (START, BOUNDARY, CONTR, GROUP):
            return GrammarState(SIGN, s.terms + 1)
        if ph in (SIGN, IMAG, OBJECT):
            if tok == "i":
                return _replace(s, phase=IMAG)
            root = self._tries[s.pending]
            if tok in root.children:  # FIELD, or a compact reference F<k>
                return _replace(s, phase=FIELD_, node=root.children[tok])
            if tok == "DERIVATIVE":
                return _replace(s, phase=DERIV, derivative=())
            if tok == "SIGMA_BAR":
                return _replace(s, phase=LABEL, obj_caps=(3, 0, 0))
            if tok in COMMUTATORS:
                return _replace(s, phase=COMM, obj_caps=(1, 0, 0))
            if tok == "CONTRACTIONS":
                return _replace(s, phase=CONTR)
        if ph == FIELD_:
            assert s.node is not None
            if tok in s.node.children:
                return _replace(s, node=s.node.children[tok])
            assert s.node.ends is not None
            return self._label(_replace(s, obj_caps=s.node.ends, pending=None), tok)
        if ph == DERIV:
            if tok in GAUGE_ORDER:
                return _replace(s, derivative=(*(s.derivative or ()), tok))
            nxt = self._label(_replace(s, obj_caps=(1, 0, 0)), tok)
            pending = s.derivative if self.spelling == "bart-l" else ANY_FIELD
            return _replace(nxt, pending=pending, derivative=None)
        if ph == COMM:
            return _replace(s, phase=COMM_G)
        if ph == COMM_G:
            return _replace(s, phase=LABEL)
        if ph == LABEL:
            return self._label(s, tok)
        if ph in (CONTR, GROUP) and tok in GROUP_KEYS:
            return _replace(s, phase=GROUP, group=tok, members=())
        if ph == GROUP and tok in IDS:
            k = _GROUP_INDEX[s.group or "LORENTZ"]
            caps = tuple(
                (lb, tuple(v - (j == k and lb == tok) for j, v in enumerate(c)))  # type: ignore[misc]
                for lb, c in s.caps
            )
            return _replace(s, caps=caps, members=(*s.members, tok))
        raise AssertionError(f"unhandled token {tok!r} in phase {ph}")

    def _label(self, s: GrammarState, tok: str) -> GrammarState:
        return _replace(
            s, phase=OBJECT, node=None, caps=(*s.caps, (tok, s.obj_caps)), obj_caps=(0, 0, 0)
        )

    # -- whole strings -----------------------------------------------------------------------
    def feed(self, tokens: Sequence[str], state: GrammarState | None = None) -> GrammarState:
        """Run the machine over ``tokens``; raise :class:`GrammarViolation` at the first
        illegal token."""
        s = state or self.initial()
        for pos, tok in enumerate(tokens):
            nxt = self.advance(s, tok)
            if nxt is None:
                raise GrammarViolation(pos, tok, self.allowed(s) or frozenset())
            s = nxt
        return s

    def first_violation(
        self, text: str | Sequence[str], state: GrammarState | None = None
    ) -> int | None:
        """Position of the first token the grammar rejects (``None`` if all are accepted)."""
        toks = split_tokens(text) if isinstance(text, str) else list(text)
        try:
            self.feed(toks, state)
        except GrammarViolation as exc:
            return exc.position
        return None

    def accepts_term(self, text: str) -> bool:
        """True when ``text`` is one complete term of this grammar."""
        toks = split_tokens(text)
        try:
            s = self.feed(toks, self.initial())
        except GrammarViolation:
            return False
        return s.at_term_end and s.terms == 1

    def accepts(self, text: str) -> bool:
        """True when ``text`` is a complete Lagrangian (``[EOS]`` optional at the end)."""
        toks = [t for t in split_tokens(text) if t != "[SOS]"]
        if toks and toks[-1] != EOS:
            toks.append(EOS)
        try:
            return self.feed(toks).phase == END
        except GrammarViolation:
            return False


class GrammarViolation(ValueError):
    """A token the grammar does not allow at its position."""

    def __init__(self, position: int, token: str, allowed: frozenset[str]) -> None:
        self.position, self.token, self.allowed = position, token, allowed
        shown = " ".join(sorted(allowed)) if len(allowed) <= 12 else f"{len(allowed)} tokens"
        super().__init__(f"token {position} {token!r} is not allowed here (allowed: {shown})")
