"""The token-grammar state machine: engine Lagrangians are accepted token by token, illegal
continuations are rejected, and everything it accepts parses."""

import random

import pytest
import torch
from conftest import sm_fields

from lagnb.errors import LagnbError
from lagnb.ml.decoding import GrammarLogitsProcessor
from lagnb.ml.tokenizer import build_tokenizer
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field
from lagnb.physics.grammar import EOS, Grammar, GrammarViolation
from lagnb.physics.tokens import VOCABULARY, parse_term, split_terms

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"


def random_fields(rng: random.Random, n: int) -> tuple[Field, ...]:
    out = []
    for _ in range(n):
        kind = rng.choice(["scalar", "left", "right"])
        su3 = rng.choice([1, 1, 3, -3, 6, 8])
        su2 = rng.choice([1, 1, 2, 3, 4])
        y = rng.choice(["0", "1", "-1", "1/3", "-2/3", "4/3", "1/2", "-7/6", "12"])
        out.append(getattr(Field, kind)(su3, su2, y))
    return tuple(out)


FIELD_LISTS = [
    sm_fields(),
    (Field.scalar(),),
    (Field.left(),),
    (Field.scalar(8, 3, 0), Field.scalar(6, 4, "1/3"), Field.left(-6, 1, "2/3")),
    *(random_fields(random.Random(seed), 1 + seed % 4) for seed in range(12)),
]


@pytest.mark.parametrize("fields", FIELD_LISTS, ids=lambda fs: str(len(fs)))
def test_engine_lagrangians_accepted_token_by_token(fields):
    g = Grammar(fields)
    lag = lagrangian(fields)
    toks = [*lag.tokens().split(), EOS]
    s = g.initial()
    for pos, tok in enumerate(toks):
        allowed = g.allowed(s)
        assert tok in allowed, (pos, tok, toks[max(0, pos - 8) : pos + 1])
        s = g.advance(s, tok)
        assert s is not None
    assert s.phase == "end"
    for term in lag.term_tokens():
        assert g.accepts_term(term)
    assert g.accepts(lag.tokens())


def test_engine_terms_accepted_without_capacity_rules():
    g = Grammar(sm_fields(), capacity=False)
    assert g.accepts(lagrangian(sm_fields()).tokens())


def test_relabelled_engine_terms_accepted():
    """ID labels are free (the public data shuffles them)."""
    g = Grammar(sm_fields())
    rng = random.Random(3)
    for term in lagrangian(sm_fields()).term_tokens():
        perm = [f"ID{k}" for k in range(10)]
        rng.shuffle(perm)
        relabelled = " ".join(perm[int(t[2:])] if t.startswith("ID") else t for t in term.split())
        assert g.accepts_term(relabelled), relabelled


ILLEGAL = [
    # (prefix that is legal, next token that is not, why)
    ("", "FIELD", "a term starts with a sign"),
    ("", EOS, "an empty Lagrangian"),
    ("+", "SIGMA_BAR", "a term cannot start with σ̄ (split_terms would not see it)"),
    ("+", "COMMUTATOR_B", "a term cannot start with the second commutator half"),
    ("+ FIELD SPIN 0 SU2 2 U1 1", "ID0 ID1", "an object has one label"),
    ("+ FIELD SPIN 0 SU2 2 U1", "2", "no field has hypercharge 2"),
    ("+ FIELD SPIN 0 SU2", "3", "no SU(2) triplet in the field list"),
    ("+ FIELD SPIN 0", "SU3", "no coloured scalar"),
    ("+ FIELD SPIN 0 SU2 2 U1 1 ID4 FIELD SPIN 0 SU2 2 U1 1", "ID4", "labels are fresh"),
    ("+ FIELD SPIN 0 SU2 2 U1 1 ID0", "+", "a term needs CONTRACTIONS"),
    ("+ FIELD SPIN 0 SU2 2 U1 1 ID0", EOS, "a term needs CONTRACTIONS"),
    ("+ DERIVATIVE", "SU3", "the Higgs is not coloured"),
    ("+ DERIVATIVE SU2 U1", "SU2", "groups come in the order SU3 SU2 U1"),
    ("+ DERIVATIVE SU2", "ID0", "no field is charged under SU(2) only"),
    ("+ DERIVATIVE SU2 U1 ID0", "CONTRACTIONS", "a derivative acts on the next field"),
    ("+ DERIVATIVE SU2 U1 ID0", "SIGMA_BAR", "a derivative acts on the next field"),
    ("- COMMUTATOR_A", "FIELD", "a commutator half is followed by DERIVATIVE"),
    ("- COMMUTATOR_A DERIVATIVE", "SU3", "no coloured field: no gluon"),
    ("- COMMUTATOR_A DERIVATIVE SU2", "SU2", "a commutator has one group"),
    ("+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS", "SU3", "no SU(3) index anywhere"),
    ("+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS", "ID0", "a group key comes first"),
    ("+ FIELD SPIN 0 SU2 2 U1 1 ID0 CONTRACTIONS", "LORENTZ", "a scalar has no Lorentz index"),
    (
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS SU2",
        "ID5",
        "contractions name labels in use",
    ),
    (
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS SU2 ID0",
        "+",
        "a group joins at least two objects",
    ),
    (
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS SU2 ID0",
        "ID0",
        "a doublet has one SU(2) index",
    ),
    (
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS SU2 ID0 "
        "ID1",
        "SU2",
        "both indices are used up",
    ),
    (
        "+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 DAGGER ID1 CONTRACTIONS SU2 ID0 "
        "ID1",
        "ID0",
        "an SU(2) group joins two indices",
    ),
]


@pytest.mark.parametrize(("prefix", "token", "why"), ILLEGAL, ids=[c[2] for c in ILLEGAL])
def test_illegal_continuations_rejected(prefix, token, why):
    g = Grammar(HIGGS)
    s = g.feed(prefix.split())
    toks = token.split()
    for t in toks[:-1]:
        s = g.advance(s, t)
    assert g.advance(s, toks[-1]) is None, why
    with pytest.raises(GrammarViolation, match="not allowed"):
        g.feed([*prefix.split(), *toks])


def test_first_violation_and_accepts():
    g = Grammar(HIGGS)
    good = lagrangian(HIGGS).tokens()
    assert g.first_violation(good) is None
    bad = good.replace("SU2 2 U1 1 ID0", "SU2 2 U1 3 ID0", 1)
    assert g.first_violation(bad) == 7  # "+ FIELD SPIN 0 SU2 2 U1 3": the 3
    assert not g.accepts(bad)
    assert not g.accepts_term("+ FIELD SPIN 0 SU2 2 U1 1 ID0")  # incomplete


def test_field_list_decides_objects():
    """The same token is legal for one field list and not for another."""
    assert Grammar("[SOS] FIELD SPIN 0 SU3 3 [EOS]").advance(
        Grammar("[SOS] FIELD SPIN 0 SU3 3 [EOS]").feed(["+", "FIELD", "SPIN", "0"]), "SU3"
    )
    assert (
        Grammar("[SOS] FIELD SPIN 0 [EOS]").advance(
            Grammar("[SOS] FIELD SPIN 0 [EOS]").feed(["+", "FIELD", "SPIN", "0"]), "SU3"
        )
        is None
    )


@pytest.mark.parametrize("seed", range(4))
def test_random_walks_parse(seed):
    """Every complete term the grammar allows parses with parse_term (soundness)."""
    rng = random.Random(seed)
    fields = FIELD_LISTS[seed]
    g = Grammar(fields)
    for _ in range(25):
        s, toks = g.initial(), []
        while s.phase != "end" and len(toks) < 4000:
            allowed = sorted(g.allowed(s))
            if EOS in allowed and len(toks) < 30:
                allowed.remove(EOS)
            tok = rng.choice(allowed)
            toks.append(tok)
            s = g.advance(s, tok)
        assert s.phase == "end"
        for term in split_terms(" ".join(toks)):
            parse_term(fields, term)  # raises if the grammar let a broken term through


def test_mutations_the_grammar_accepts_parse():
    """Single-token mutations of engine terms: whatever the grammar still accepts parses."""
    fields = sm_fields()
    g = Grammar(fields)
    rng = random.Random(0)
    words = [t for t in VOCABULARY if not t.startswith("[")]
    accepted = rejected = 0
    for term in lagrangian(fields).term_tokens():
        toks = term.split()
        for _ in range(30):
            pos = rng.randrange(len(toks))
            mutated = toks.copy()
            mutated[pos] = rng.choice(words)
            if mutated == toks:
                continue
            text = " ".join(mutated)
            if g.accepts_term(text):
                accepted += 1
                parse_term(fields, text)
            else:
                rejected += 1
    assert rejected > accepted > 0


# -- transformers glue -----------------------------------------------------------------------------
def _scores(n: int, vocab: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, vocab, generator=torch.Generator().manual_seed(seed))


def test_logits_processor_masks_and_tracks_rows():
    tok = build_tokenizer()
    g = Grammar(HIGGS)
    proc = GrammarLogitsProcessor(g, tok, prefix_len=1)
    ids = tok.convert_tokens_to_ids
    sos = tok.bos_token_id
    rows = torch.tensor(
        [[sos, *ids(["+", "FIELD", "SPIN"])], [sos, *ids(["+", "DERIVATIVE", "SU2"])]]
    )
    out = proc(rows, _scores(2, len(tok)))
    legal0 = {
        tok.convert_ids_to_tokens(i) for i in torch.isfinite(out[0]).nonzero().flatten().tolist()
    }
    legal1 = {
        tok.convert_ids_to_tokens(i) for i in torch.isfinite(out[1]).nonzero().flatten().tolist()
    }
    assert legal0 == {"0"}
    assert legal1 == {"U1"}
    # the tracker continues incrementally from the previous step's rows
    rows2 = torch.cat([rows, torch.tensor([[ids("0")], [ids("U1")]])], dim=1)
    out2 = proc(rows2, _scores(2, len(tok)))
    legal = {
        tok.convert_ids_to_tokens(i) for i in torch.isfinite(out2[1]).nonzero().flatten().tolist()
    }
    assert legal == {f"ID{k}" for k in range(10)}


def test_min_terms_forbids_eos():
    tok = build_tokenizer()
    g = Grammar(HIGGS)
    term = lagrangian(HIGGS).term_tokens()[-1].split()
    sos = tok.bos_token_id
    row = torch.tensor([[sos, *tok.convert_tokens_to_ids(term)]])
    proc = GrammarLogitsProcessor(g, tok, prefix_len=1, start=g.boundary(), min_terms=2)
    out = proc(row, torch.zeros(1, len(tok)))
    assert not torch.isfinite(out[0, tok.eos_token_id])
    assert torch.isfinite(out[0, tok.convert_tokens_to_ids("+")])
    proc1 = GrammarLogitsProcessor(g, tok, prefix_len=1, start=g.boundary(), min_terms=1)
    assert torch.isfinite(proc1(row, torch.zeros(1, len(tok)))[0, tok.eos_token_id])
    # the same, state by state, as the decoding loop asks
    s = g.boundary()
    for t in tok.convert_tokens_to_ids(term):
        s = proc.advance(s, t)
    assert proc.row_mask(s, len(tok), torch.device("cpu"))[tok.eos_token_id]
    assert not proc1.row_mask(s, len(tok), torch.device("cpu"))[tok.eos_token_id]


def test_processor_refuses_a_tokenizer_without_grammar_tokens():
    tok = build_tokenizer(tuple(t for t in VOCABULARY if t != "SIGMA_BAR"))
    with pytest.raises(LagnbError, match="lacks grammar tokens: SIGMA_BAR"):
        GrammarLogitsProcessor(Grammar(HIGGS), tok, 1)


# -- the compact spelling of a model trained on compact targets -----------------------------------
@pytest.mark.parametrize("fields", FIELD_LISTS, ids=lambda fs: str(len(fs)))
def test_compact_spelling_accepts_converted_engine_lagrangians_token_by_token(fields):
    from lagnb.ml.targets import to_model

    g = Grammar(fields, spelling="compact")
    assert g.spelling == "compact" and not {"FIELD", "SPIN", "HEL"} & g.vocabulary
    toks = [*to_model(fields, lagrangian(fields).tokens(), "compact").split(), EOS]
    s = g.initial()
    for pos, tok in enumerate(toks):
        assert tok in g.allowed(s), (pos, tok, toks[max(0, pos - 8) : pos + 1])
        s = g.advance(s, tok)
    assert s.phase == "end"


def test_compact_spelling_rejects_references_beyond_the_input_and_bart_l_spelling():
    g = Grammar(HIGGS, spelling="compact")
    assert {f"F{k}" for k in range(16)} & g.vocabulary == {"F0"}
    s = g.feed(["+"])
    assert "F0" in g.allowed(s) and "F1" not in g.allowed(s) and "FIELD" not in g.allowed(s)
    assert g.advance(s, "F1") is None
    assert g.first_violation("+ F0 ID0 F1 DAGGER ID1") == 3
    # a derivative has no groups, and must act on a field (of the list) right after its label
    assert g.first_violation("+ DERIVATIVE SU2 U1 ID0") == 2
    s = g.feed(["+", "DERIVATIVE", "ID0"])
    assert g.allowed(s) == {"F0"}
    assert g.advance(s, "F1") is None and g.advance(s, "SIGMA_BAR") is None
    # capacities still hold: two scalars have no Lorentz index to contract
    s = g.feed(["+", "F0", "ID0", "F0", "DAGGER", "ID1", "CONTRACTIONS"])
    assert "SU2" in g.allowed(s) and "LORENTZ" not in g.allowed(s)
    with pytest.raises(LagnbError, match="unknown spelling 'short'"):
        Grammar(HIGGS, spelling="short")


def test_compact_processor_needs_the_field_references():
    """A 41-token tokenizer (the released model's) cannot write the compact spelling."""
    g = Grammar(HIGGS, spelling="compact")
    with pytest.raises(LagnbError, match="lacks grammar tokens: F0"):
        GrammarLogitsProcessor(g, build_tokenizer(VOCABULARY), 1)
    tok = build_tokenizer()
    proc = GrammarLogitsProcessor(g, tok, prefix_len=1)
    row = torch.tensor([[tok.bos_token_id, *tok.convert_tokens_to_ids(["+", "DERIVATIVE"])]])
    out = proc(row, _scores(1, len(tok)))
    legal = set(tok.convert_ids_to_tokens(torch.isfinite(out[0]).nonzero().flatten().tolist()))
    assert legal == {f"ID{k}" for k in range(10)}


# -- the longest term: the budget of a search over one term --------------------------------------
def _extended_lists() -> list[tuple[Field, ...]]:
    from lagnb.physics.symmetries import Symmetry

    x = Symmetry.gauged_u1("X")
    return [
        (Field.scalar(1, 1, 0, real=True), Field.scalar(1, 2, 1)),
        (Field.left(1, 2, -1, generations=3), Field.right(1, 1, 0, generations=2)),
        (Field.scalar(3, 2, "1/3", charges={x: 1}), Field.left(-3, 1, 0, charges={x: -1})),
        (Field.scalar(1, 2, 1, name="H_1"), Field.scalar(1, 2, 1, name="H_2")),
    ]


@pytest.mark.parametrize("fields", [*FIELD_LISTS, *_extended_lists()], ids=lambda fs: str(len(fs)))
def test_no_engine_term_is_longer_than_the_longest_term_bound(fields):
    """The bound the one-term searches decode up to holds for every term of the engine's
    Lagrangian (computed independently, by the engine), in both spellings."""
    from lagnb.ml.targets import to_model

    terms = lagrangian(fields).term_tokens()
    longest = max(len(t.split()) for t in terms)
    assert longest <= Grammar(fields).longest_term()
    if any(f.charges for f in fields):
        return  # the compact spelling has no gauged U(1)' derivatives (a BART-L model's input)
    compact = max(len(to_model(fields, t, "compact").split()) for t in terms)
    assert compact <= Grammar(fields, spelling="compact").longest_term()


def test_longest_term_by_hand():
    """The Higgs alone: its gauge kinetic term, − and four COMMUTATOR_A DERIVATIVE SU2 ID
    objects, CONTRACTIONS and two Lorentz pairs (24 tokens), is the longest, bounded by 3 +
    4 × (4 + 1.5) = 25.  One SM generation: Q's kinetic term, + i Q† ID σ̄ ID D ID Q ID
    CONTRACTIONS and three Lorentz, one SU(3) and one SU(2) pair (27), bounded by 3 + (2 +
    4.5) + (2 + 1.5) + 2 × (3 + 1.5 × 3) = 28."""
    higgs = (Field.scalar(1, 2, 1),)
    assert Grammar(higgs, spelling="compact").longest_term() == 25
    assert Grammar(sm_fields(), spelling="compact").longest_term() == 28
    terms = lagrangian(sm_fields()).term_tokens()
    from lagnb.ml.targets import to_model

    assert max(len(to_model(sm_fields(), t, "compact").split()) for t in terms) == 27
