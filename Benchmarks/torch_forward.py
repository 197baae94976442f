"""HF GPTNeoXForCausalLM forward timing on random weights of an exact Pythia shape.

Mirrors `circuitsweep bench forward`: float32, CPU, eager attention, no padding, logits at the
last position only (`logits_to_keep=1`; `--logits all` for every position), median of N runs
after one warm-up. FLOPs use the same formula as the Swift benchmark:
24·L·d²·T (body) + 4·L·d·B·P² (attention) + 2·d·V·R (unembedding, R rows).
"""
import argparse
import resource
import statistics
import time

import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

# spec eap-ig.md §1.1: (layers, d_model, heads); d_mlp = 4d, V = 50304, rotary 0.25, base 10000.
SHAPES = {
    "pythia-70m": (6, 512, 8),
    "pythia-160m": (12, 768, 12),
    "pythia-410m": (24, 1024, 16),
    "pythia-1b": (16, 2048, 8),
    "pythia-1.4b": (24, 2048, 16),
    "pythia-2.8b": (32, 2560, 32),
}
VOCAB = 50304


def build(shape):
    layers, d, heads = SHAPES[shape]
    # rotary_pct 0.25 / base 10000 / parallel residual / exact gelu are the GPTNeoXConfig defaults
    # in transformers 4 and 5, so no version-specific rotary keys are passed.
    config = GPTNeoXConfig(
        vocab_size=VOCAB, hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=4 * d, hidden_act="gelu", max_position_embeddings=2048,
        use_parallel_residual=True, tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    try:
        model = GPTNeoXForCausalLM._from_config(config, attn_implementation="eager")
    except TypeError:
        config._attn_implementation = "eager"
        model = GPTNeoXForCausalLM(config)
    return model.float().eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="pythia-70m", choices=sorted(SHAPES))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--logits", choices=["last", "all"], default="last")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = build(args.shape)
    params = sum(p.numel() for p in model.parameters())
    generator = torch.Generator().manual_seed(12345)
    ids = torch.randint(0, VOCAB, (args.batch, args.length), generator=generator)
    kwargs = {"use_cache": False}
    if args.logits == "last":
        kwargs["logits_to_keep"] = 1

    times = []
    with torch.inference_mode():
        try:
            model(ids, **kwargs)
        except TypeError:  # transformers < 4.45 calls it num_logits_to_keep
            kwargs["num_logits_to_keep"] = kwargs.pop("logits_to_keep")
            model(ids, **kwargs)
        for _ in range(args.repeats):
            start = time.perf_counter()
            model(ids, **kwargs)
            times.append(time.perf_counter() - start)

    median = statistics.median(times)
    layers, d, _ = SHAPES[args.shape]
    tokens = args.batch * args.length
    rows = args.batch if args.logits == "last" else tokens
    flops = 24 * layers * d * d * tokens + 4 * layers * d * args.batch * args.length ** 2 + 2 * d * VOCAB * rows
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    import transformers
    print(f"torch {torch.__version__}  transformers {transformers.__version__}  threads {torch.get_num_threads()}  attention eager")
    print(f"shape {args.shape}  params {params}  fp32 weights {params * 4 / 2**20:.1f} MiB")
    print(f"batch {args.batch} x {args.length} tokens, logits {args.logits}, median of {args.repeats}")
    print(f"median {median * 1000:.2f} ms  {tokens / median:.0f} tokens/s  {flops / median / 1e9:.1f} GFLOP/s")
    print(f"peak RSS (process) {peak / 2**20:.1f} MiB = {peak / (params * 4):.2f}x weights")


if __name__ == "__main__":
    main()
