"""Training and generation speed of a BART-L model size: tokens/s, peak memory, MFU, latency.

Synthetic batches of fixed shape (random grammar tokens) isolate the model from data loading:
each step is forward + backward + AdamW on ``batch`` pairs of ``src_len`` input and ``tgt_len``
target tokens.  Tokens/s counts input + target tokens.  On CUDA the model runs in bf16 autocast
with sdpa attention, and MFU = achieved FLOP/s / peak FLOP/s with the usual estimate
6·N·T for the matmuls (N = non-embedding parameters, T = tokens) plus the attention scores
(12 · layers · d_model · L per token for self-attention, the decoder's cross-attention too).
Generation: greedy latency per token of ``transformers``' ``generate`` and of lagnb's own loop
(:func:`lagnb.ml.decoding.search`, unconstrained), and their ratio, in one run.

    python benchmarks/training.py                          # tiny on CPU
    python benchmarks/training.py --size small --threads 1
    python benchmarks/training.py --device cuda --size base --batch 32   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import torch

from lagnb.ml.decoding import search
from lagnb.ml.incremental import IncrementalDecoder
from lagnb.ml.model import SIZES, build_model, count_parameters
from lagnb.ml.tokenizer import build_tokenizer


def train_flops_per_step(model, batch: int, src: int, tgt: int) -> float:
    cfg = model.config
    emb = model.model.shared.weight.numel() + sum(
        p.numel() for n, p in model.named_parameters() if "embed_positions" in n
    )
    n = count_parameters(model) - emb
    # rough split: encoder parameters see source tokens, decoder parameters target tokens
    enc = sum(p.numel() for n_, p in model.model.encoder.named_parameters() if "embed" not in n_)
    dec = n - enc
    dense = 6 * (enc * batch * src + dec * batch * tgt)
    d, le, ld = cfg.d_model, cfg.encoder_layers, cfg.decoder_layers
    attn = 6 * 2 * batch * d * (le * src * src + ld * (tgt * tgt + tgt * src))
    return float(dense + attn)


def bench_train(args, tok, device) -> dict:
    model = build_model(args.size, tok, seed=0).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, len(tok), (args.batch, args.src_len), generator=g).to(device)
    labels = torch.randint(4, len(tok), (args.batch, args.tgt_len), generator=g).to(device)
    cuda = device.type == "cuda"
    times = []
    for step in range(args.warmup + args.steps):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - t)
    step_s = statistics.median(times)
    tokens = args.batch * (args.src_len + args.tgt_len)
    out = {
        "size": args.size,
        "device": str(device),
        "parameters_M": round(count_parameters(model) / 1e6, 2),
        "batch": args.batch,
        "src_len": args.src_len,
        "tgt_len": args.tgt_len,
        "step_s_median": round(step_s, 4),
        "tokens_per_s": round(tokens / step_s),
        "threads": torch.get_num_threads(),
    }
    flops = train_flops_per_step(model, args.batch, args.src_len, args.tgt_len)
    out["achieved_TFLOPs"] = round(flops / step_s / 1e12, 4)
    if cuda:
        out["peak_memory_GiB"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        out["MFU"] = round(flops / step_s / (args.peak_tflops * 1e12), 4)
        out["peak_TFLOPs_assumed"] = args.peak_tflops
    else:
        out["peak_rss_MiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


@torch.no_grad()
def bench_generate(args, tok, device) -> dict:
    model = build_model(args.size, tok, seed=0).to(device).eval()
    if device.type == "cuda":
        model = model.to(torch.bfloat16)
    ids = torch.randint(4, len(tok), (1, args.src_len), generator=torch.Generator().manual_seed(1))
    ids = ids.to(device)
    n = args.gen_tokens
    times = []
    for k in range(3):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = model.generate(
            input_ids=ids, max_length=n + 1, min_length=n + 1, num_beams=1, do_sample=False
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        if k:
            times.append(time.perf_counter() - t)
    dt = statistics.median(times)
    # lagnb's own loop (lagnb.ml.decoding.search, unconstrained, never stopping early)
    ours = []
    for k in range(3):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        search(
            IncrementalDecoder.of(model),
            ids,
            torch.ones_like(ids),
            torch.full((1, 1), model.config.decoder_start_token_id, device=device),
            [None],
            eos_id=-1,
            max_new=n,
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        if k:
            ours.append(time.perf_counter() - t)
    d_ours = statistics.median(ours)
    return {
        "generate_tokens": int(out.shape[1] - 1),
        "generate_s": round(dt, 3),
        "generate_ms_per_token": round(1000 * dt / n, 2),
        "search_ms_per_token": round(1000 * d_ours / n, 2),
        "search_speedup": round(dt / d_ours, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="tiny", choices=list(SIZES))
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--src-len", type=int, default=40)
    p.add_argument("--tgt-len", type=int, default=300)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--gen-tokens", type=int, default=200)
    p.add_argument(
        "--peak-tflops",
        type=float,
        default=989.0,
        help="peak bf16 dense TFLOP/s of the GPU (H100 SXM: 989)",
    )
    p.add_argument("--no-generate", dest="generate", action="store_false")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    device = torch.device(args.device)
    tok = build_tokenizer()
    res = bench_train(args, tok, device)
    if args.generate:
        res.update(bench_generate(args, tok, device))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
