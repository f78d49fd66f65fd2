"""The decoding loop against ``transformers``: the incremental decoder computes the model's own
logits, and greedy and beam search choose what ``generate`` chooses, token for token."""

import pytest
import torch

from lagnb.errors import LagnbError
from lagnb.ml.decoding import GrammarLogitsProcessor, search
from lagnb.ml.incremental import IncrementalDecoder
from lagnb.ml.model import build_model, load_bundle
from lagnb.ml.tokenizer import build_tokenizer, encode_input
from lagnb.physics.grammar import Grammar

HIGGS = "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"
TWO = "[SOS] FIELD SPIN 0 SU2 2 U1 1 FIELD SPIN 1/2 SU3 3 U1 1/3 HEL -1/2 [EOS]"


@pytest.mark.parametrize("scale_embedding", [False, True])
def test_incremental_decoder_reproduces_the_model_logits(scale_embedding):
    """Two inputs (one padded), a forced start of three tokens, then one token at a time (past
    the cache's first capacity of 64), with three rows per input fed the same tokens: every
    step's logits are the full model's; a token beyond the budget is refused."""
    tok = build_tokenizer()
    model = build_model("tiny", tok, seed=3, init_std=0.2, scale_embedding=scale_embedding)
    model.eval()
    g = torch.Generator().manual_seed(0)
    enc = torch.randint(4, len(tok), (2, 9), generator=g)
    att = torch.ones_like(enc)
    att[1, 6:] = 0
    dec = torch.randint(4, len(tok), (2, 83), generator=g)
    with torch.no_grad():
        want = model(input_ids=enc, attention_mask=att, decoder_input_ids=dec).logits
    inc = IncrementalDecoder(model)
    memory = inc.encode(enc, att)
    logits, cache = inc.start(dec[:, :3], memory, 3, 80)
    torch.testing.assert_close(logits, want[:, 2], atol=1e-4, rtol=1e-4)
    assert want[:, 2].std() > 0.5  # logits that are not all alike
    for i in range(3, 83):
        logits = inc.step(dec[:, i].repeat_interleave(3), memory, cache)
        torch.testing.assert_close(
            logits.view(2, 3, -1), want[:, i, None].expand(2, 3, -1), atol=1e-4, rtol=1e-4
        )
    with pytest.raises(LagnbError, match="holds 80 tokens after the start; no room left"):
        inc.step(dec[:, 0].repeat_interleave(3), memory, cache)


def _hf_generate(bundle, text: str, prefix: list[str], **kw) -> list[tuple[int, ...]]:
    """``transformers``' generate with the grammar processor: the token ids after the start,
    cut after the first ``[EOS]``."""
    tok, model = bundle.tokenizer, bundle.model
    enc = torch.tensor([encode_input(tok, text, bundle.input_format)])
    dec = [tok.bos_token_id, *tok.convert_tokens_to_ids(prefix)]
    g = _grammar(bundle, text)
    proc = GrammarLogitsProcessor(g, tok, len(dec), g.feed(prefix))
    with torch.no_grad():
        out = model.generate(
            input_ids=enc,
            attention_mask=torch.ones_like(enc),
            decoder_input_ids=torch.tensor([dec]),
            logits_processor=[proc],
            do_sample=False,
            **kw,
        )
    seqs = []
    for row in out.tolist():
        row = row[len(dec) :]
        if tok.eos_token_id in row:
            row = row[: row.index(tok.eos_token_id) + 1]
        seqs.append(tuple(row))
    return seqs


def _grammar(bundle, text: str) -> Grammar:
    """The field list's grammar in the model's spelling."""
    return Grammar(text, spelling=bundle.target_format)


def _ours(bundle, texts: list[str], prefix: list[str], **kw):
    tok = bundle.tokenizer
    encs = [encode_input(tok, t, bundle.input_format) for t in texts]
    width = max(map(len, encs))
    ids = torch.full((len(encs), width), tok.pad_token_id)
    att = torch.zeros_like(ids)
    for k, e in enumerate(encs):
        ids[k, : len(e)] = torch.tensor(e)
        att[k, : len(e)] = 1
    dec = [tok.bos_token_id, *tok.convert_tokens_to_ids(prefix)]
    procs = []
    for t in texts:
        g = _grammar(bundle, t)
        procs.append(GrammarLogitsProcessor(g, tok, len(dec), g.feed(prefix)))
    return search(
        IncrementalDecoder(bundle.model),
        ids,
        att,
        torch.tensor([dec] * len(texts)),
        procs,
        eos_id=tok.eos_token_id,
        **kw,
    )


@pytest.mark.parametrize(
    "text,prefix,beams,new",
    [
        (HIGGS, [], 1, 200),  # the whole Lagrangian, greedy
        (HIGGS, [], 4, 200),  # beam search to [EOS]
        (TWO, [], 16, 24),  # wide, stopped by the budget
        (TWO, ["+", "F1"], 6, 60),  # after a forced start
    ],
)
def test_search_chooses_what_transformers_generate_chooses(text, prefix, beams, new):
    """The shipped model, grammar-constrained: greedy and beam search (every hypothesis
    returned, in order) equal ``transformers``' ``generate`` with the same processor."""
    bundle = load_bundle()
    want = _hf_generate(
        bundle, text, prefix, num_beams=beams, num_return_sequences=beams, max_new_tokens=new
    )
    (got,) = _ours(bundle, [text], prefix, num_beams=beams, num_return=beams, max_new=new)
    assert list(got.ids) == want
    eos = bundle.tokenizer.eos_token_id
    if new == 200:
        assert all(s[-1] == eos for s in got.ids)  # ended, not cut


def test_search_stops_each_row_at_its_term_limit_and_keeps_field_lists_apart():
    """Two field lists decoded together, one term each: every hypothesis is one complete term
    of its own list's grammar and then the next term's sign (flagged as stopped by the limit)
    or ``[EOS]``, and the batch equals each list searched alone."""
    bundle = load_bundle()
    tok = bundle.tokenizer
    both = _ours(bundle, [HIGGS, TWO], [], num_beams=8, num_return=8, max_new=40, max_terms=1)
    for text, found in zip([HIGGS, TWO], both):
        (alone,) = _ours(bundle, [text], [], num_beams=8, num_return=8, max_new=40, max_terms=1)
        assert found == alone
        g = _grammar(bundle, text)
        for ids, limited in zip(found.ids, found.limited):
            toks = tok.convert_ids_to_tokens(list(ids))
            assert limited == (toks[-1] in ("+", "-"))
            assert limited or toks[-1] == "[EOS]"
            assert g.feed(toks[:-1]).terms == 1 and g.feed(toks[:-1]).at_term_end
        assert sum(found.limited) >= 4
    assert both[0].ids != both[1].ids


def test_the_decoder_of_a_model_is_made_once_and_again_after_its_weights_change():
    """Generation reuses a model's decoder (its copied weights) until a weight changes in
    place, as in training; then the new decoder computes the changed model's logits."""
    tok = build_tokenizer()
    model = build_model("tiny", tok, seed=4, init_std=0.2).eval()
    first = IncrementalDecoder.of(model)
    assert IncrementalDecoder.of(model) is first
    with torch.no_grad():
        model.model.decoder.layers[0].fc1.weight.mul_(1.5)
    again = IncrementalDecoder.of(model)
    assert again is not first and IncrementalDecoder.of(model) is again
    enc = torch.tensor([[5, 6, 7, 8]])
    dec = torch.tensor([[tok.bos_token_id, 9, 10]])
    with torch.no_grad():
        want = model(input_ids=enc, decoder_input_ids=dec).logits[:, -1]
    att = torch.ones_like(enc)
    logits, _ = again.start(dec, again.encode(enc, att), 1, 4)
    torch.testing.assert_close(logits, want, atol=1e-4, rtol=1e-4)
    stale, _ = first.start(dec, first.encode(enc, att), 1, 4)
    assert (stale - want).abs().max() > 1e-3
