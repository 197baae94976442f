#!/usr/bin/env bash
# `make demo`: a tour of circuitsweep on the bundled fixture models (random-init GPT-NeoX models
# from the reference stack; their circuits are not meaningful, the machinery is real).
#   1. one unit: EAP-IG scores, circuits and the minimal faithful circuit, written as HDF5;
#   2. head scores;
#   3. a task dataset from the Pythia tokenizer;
#   4. a local sweep: a coordinator and two workers over tcp loopback, three checkpoints × two
#      tasks, then `status` and `verify`;
#   5. `aggregate`: aggregate.h5, CSV tables and report/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${CIRCUITSWEEP:-.build/release/circuitsweep}")
out=${DEMO_OUT:-demo-out}
fixtures=$PWD/Tests/Fixtures
rm -rf "$out"; mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "1. attribute: EAP-IG (30 steps), circuits of 5/20/50 edges, smallest circuit with faithfulness ≥ 0.8"
"$bin" attribute --model "$fixtures/models/neox-tiny" --examples "$fixtures/examples/neox-tiny.json" \
  --circuit-sizes 5,20,50 --faithfulness 0.8 --search-range 5:102:5 --out "$out/attribute-neox-tiny.h5"

step "2. heads: induction, previous-token, duplicate-token scores"
"$bin" heads --model "$fixtures/models/neox-small-seq" --scores induction,previous_token,duplicate_token \
  --out "$out/heads-neox-small-seq.h5"

step "3. dataset: 8 IOI examples from the Pythia tokenizer"
"$bin" dataset ioi --tokenizer "$fixtures/tokenizer/tokenizer.json" --size 8 --seed 42 --out "$out/ioi.json"
head -c 400 "$out/ioi.json"; echo " …"

step "4. a local sweep: coordinator + 2 workers, 3 checkpoints × 2 tasks"
cluster/fixture-sweep.sh "$out/sweep" 10 30 1
port=$(( 20000 + RANDOM % 20000 ))
(cd "$out/sweep" && "$bin" plan sweep.yaml)
(cd "$out/sweep" && exec "$bin" coordinator sweep.yaml --bind "tcp://127.0.0.1:$port" > coordinator.log 2>&1) &
coordinator=$!
workers=()
for i in 1 2; do
  "$bin" worker --connect "tcp://127.0.0.1:$port" --model-root "$out/sweep" > "$out/sweep/worker$i.log" 2>&1 &
  workers+=($!)
done
trap 'kill "${workers[@]}" "$coordinator" 2>/dev/null || true' EXIT
wait "$coordinator"
for w in "${workers[@]}"; do wait "$w" || true; done
trap - EXIT
"$bin" status "$out/sweep/results"
"$bin" verify "$out/sweep/results"

step "5. aggregate: time series, circuit stability, head-score summaries, CSV and an HTML report"
"$bin" aggregate "$out/sweep/results"
head -3 "$out/sweep/aggregate/checkpoints.csv"

step "done: results in $out/ (read them with h5py; layout in schemas/unit-result.md)"
