#!/usr/bin/env bash
# Side-by-side forward timing: HF GPTNeoXForCausalLM on torch (Benchmarks/torch_forward.sh) and
# `circuitsweep bench forward`, same shapes, batch 8 × 16, 2 threads, float32, both logits modes
# (last position only, and full [B, P, V] logits). Not part of `make test`.
#
#   Benchmarks/torch_forward.sh --setup            # once: the torch venv
#   swift build -c release                         # the circuitsweep binary
#   Benchmarks/compare_forward.sh [SHAPE ...]      # default: pythia-70m pythia-160m
#
# env CIRCUITSWEEP names the binary (default .build/release/circuitsweep), REPEATS the torch
# repetitions (default 7; the median is reported).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="${CIRCUITSWEEP:-$here/../.build/release/circuitsweep}"
repeats="${REPEATS:-7}"
shapes=("$@")
[[ ${#shapes[@]} -eq 0 ]] && shapes=(pythia-70m pythia-160m)
if [[ ! -x "$binary" ]]; then
    echo "no circuitsweep binary at $binary; build with: swift build -c release" >&2
    exit 1
fi

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for shape in "${shapes[@]}"; do
    declare -A torch_ms=()
    for mode in last all; do
        out="$("$here/torch_forward.sh" --shape "$shape" --logits "$mode" --repeats "$repeats")"
        echo "$out" | sed "s/^/torch [$mode] /"
        torch_ms[$mode]="$(echo "$out" | sed -n 's/^median \([0-9.]*\) ms.*/\1/p')"
    done
    "$binary" bench forward --shape "$shape" --logits both \
        --torch-last-ms "${torch_ms[last]}" --torch-all-ms "${torch_ms[all]}"
    echo
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
