#!/usr/bin/env bash
# Count error of plain classify-and-count vs corrected (ACC) abundances on held-out images with
# sample-like class mixtures (bench/quantification_bench.cpp), appended as a JSON line to
# build/accuracy/quantification.jsonl.
#   bench/quantification.sh vicko   FlowCam Junk/Missed/Protist: the 20 % that bench/accuracy.sh
#                                   held out from training (trains that model first if missing)
#   bench/quantification.sh ndsb    ISIIS 121 classes, only if bench/accuracy.sh ndsb has already
#                                   trained its model (training takes too long to start here)
# Environment: BUILD (default build/release), SAMPLES (200), BOOTSTRAP (200), SEED (1), ALPHA (1:
# the Dirichlet concentration of the class mixtures; below 1, a few classes dominate each sample).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build/release}
bench="$build/bench/quantification_bench"
if [[ ! -x "$bench" ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target quantification_bench
  bench=build/release/bench/quantification_bench
fi
case_name=${1:?usage: bench/quantification.sh vicko|ndsb}
out=build/accuracy
mkdir -p "$out"
options=(--samples "${SAMPLES:-200}" --bootstrap "${BOOTSTRAP:-200}" --seed "${SEED:-1}" --alpha "${ALPHA:-1}"
  --name "$case_name")

case "$case_name" in
  vicko)
    model="$out/vicko-size.pt"
    [[ -f "$model" && -f "$out/vicko-split/test.csv" ]] || bench/accuracy.sh vicko size
    "$bench" --model "$model" --data "$out/vicko-split/test.csv" --pixel-size-um 0.5544 "${options[@]}" \
      | tee -a "$out/quantification.jsonl"
    ;;
  ndsb)
    model="$out/ndsb-size.pt"
    if [[ ! -f "$model" || ! -f "$out/ndsb-split/test.csv" ]]; then
      echo "no $model: run bench/accuracy.sh ndsb first (long)" >&2
      exit 2
    fi
    "$bench" --model "$model" --data "$out/ndsb-split/test.csv" "${options[@]}" \
      | tee -a "$out/quantification.jsonl"
    ;;
  *)
    echo "unknown case $case_name" >&2
    exit 2
    ;;
esac
