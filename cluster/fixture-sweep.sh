#!/usr/bin/env bash
# Writes a ready-to-run sweep folder on the bundled fixture models: three "checkpoints" of
# neox-tiny with different weights (bf16-, fp16-rounded and full fp32) × two tasks (the fixture
# examples, and the same pairs with clean and corrupted swapped), EAP-IG + circuit search +
# induction scores. Used by `make demo` and the integration tests.
#
#   cluster/fixture-sweep.sh DIR [IG_STEPS=10] [LEASE_SECONDS=30] [HEARTBEAT_SECONDS=1] [MORE_ANALYSES]
#
# MORE_ANALYSES: YAML list items appended to `analyses:`, e.g. $'  - method: noop\n'.
#
# Then: (cd DIR && circuitsweep coordinator sweep.yaml --bind tcp://127.0.0.1:PORT) and workers
# with `--model-root DIR`.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: $0 DIR [IG_STEPS] [LEASE_SECONDS] [HEARTBEAT_SECONDS] [MORE_ANALYSES]" >&2
    exit 2
fi
dir=$1 steps=${2:-10} lease=${3:-30} heartbeat=${4:-1} more=${5:-}
fixtures=$(cd "$(dirname "$0")/../Tests/Fixtures" && pwd)

mkdir -p "$dir/models/neox-tiny"
ln -sfn "$fixtures/models/neox-tiny-bf16" "$dir/models/neox-tiny/step0"
ln -sfn "$fixtures/models/neox-tiny-fp16" "$dir/models/neox-tiny/step1000"
ln -sfn "$fixtures/models/neox-tiny" "$dir/models/neox-tiny/step143000"
cp "$fixtures/examples/neox-tiny.json" "$dir/task-a.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [e.update(clean=e["corrupted"], corrupted=e["clean"]) for e in d["examples"]]; json.dump(d, open(sys.argv[2], "w"))' \
    "$fixtures/examples/neox-tiny.json" "$dir/task-b.json"
cat > "$dir/sweep.yaml" <<YAML
results: results
revisions: [step0, step1000, step143000]
models:
  - {name: neox-tiny, folder: models/neox-tiny}
tasks:
  - {name: pairs-a, examples: task-a.json}
  - {name: pairs-b, examples: task-b.json}
analyses:
  - method: eap-ig-inputs
    steps: $steps
    circuit: {threshold: 0.8, start: 5, end: 102, step: 5}
    head_scores: [induction]
${more}lease: {seconds: $lease, heartbeat_seconds: $heartbeat}
YAML
