#!/usr/bin/env bash
# HF GPTNeoXForCausalLM forward on random weights of exact Pythia shapes, to compare with
# `circuitsweep bench forward`. Not part of `make test`.
#
#   Benchmarks/torch_forward.sh --setup                 # create Benchmarks/.venv (CPU torch + transformers)
#       (env TORCH_SPEC overrides the torch requirement, TORCH_INDEX the extra wheel index; empty = none)
#   Benchmarks/torch_forward.sh --shape pythia-70m      # batch 8 × 16, 2 threads, eager attention, median of 5
#
# Extra arguments go to torch_forward.py (--batch, --length, --threads, --repeats, --logits last|all).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"

if [[ "${1:-}" == "--setup" ]]; then
    shift
    python3 -m venv "$venv"
    # torch and transformers from PyPI. TORCH_INDEX adds an extra wheel index (e.g. a CPU-only
    # one), TORCH_SPEC pins the requirement (e.g. 'torch==2.13.0+cpu' from a local PIP_FIND_LINKS wheel).
    index="${TORCH_INDEX-}"
    "$venv/bin/pip" install --quiet ${index:+--extra-index-url "$index"} "${TORCH_SPEC:-torch}" transformers
    "$venv/bin/python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
    [[ $# -eq 0 ]] && exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "no benchmark venv at $venv; run: $0 --setup" >&2
    exit 1
fi
threads=2
for ((i = 1; i <= $#; i++)); do
    if [[ "${!i}" == "--threads" ]]; then j=$((i + 1)); threads="${!j}"; fi
done
exec env OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" "$venv/bin/python" "$here/torch_forward.py" "$@"
