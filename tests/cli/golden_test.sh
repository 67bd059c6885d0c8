#!/usr/bin/env bash
# Golden files of the data products of the bundled example: every file of the Darwin Core Archive,
# the EcoTaxa TSV and the composition report, compared byte for byte with tests/data/golden/.
# The labels are expert labels imported from a fixture (no model predictions, whose last digits
# may differ between CPUs), so the outputs are the same on every machine.
#   tests/cli/golden_test.sh PATH/TO/phytoflow
#   UPDATE_GOLDEN=1 tests/cli/golden_test.sh PATH/TO/phytoflow   # rewrite them after a wanted change
set -euo pipefail
phytoflow=$(realpath "$1")
cd "$(dirname "$0")/../.."
run=7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025
golden=tests/data/golden
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset PHYTOFLOW_MODEL PHYTOFLOW_STORE
store="$work/store.db"

"$phytoflow" ingest "examples/vicko_pygsuia_2025/$run" --metadata examples/vicko_pygsuia_2025/metadata.csv \
  --store "$store" >/dev/null
# Illustrative position and time: a laboratory culture has no station (see the example's README).
"$phytoflow" metadata set "$run" latitude=51.4333 longitude=2.8167 depth=3 \
  sampled_at=2025-04-11T13:53:33Z temperature_c=18.5 salinity=33 --store "$store" >/dev/null
"$phytoflow" import ecotaxa "$golden/ecotaxa_labels" --store "$store" >/dev/null

mkdir -p "$work/out/dwca"
"$phytoflow" export dwca "$run" --dataset tests/data/dwca/dataset.json --out "$work/dwca.zip" \
  --store "$store" >/dev/null
(cd "$work/out/dwca" && unzip -q "$work/dwca.zip")
"$phytoflow" export ecotaxa "$run" --out "$work/ecotaxa.zip" --store "$store" >/dev/null
(cd "$work/out" && unzip -q "$work/ecotaxa.zip" "*.tsv")
"$phytoflow" report "$run" --json --store "$store" >"$work/out/report.json"
"$phytoflow" report "$run" --csv --store "$store" >"$work/out/report.csv"

if [[ "${UPDATE_GOLDEN:-0}" == 1 ]]; then
  rm -rf "$golden/products"
  cp -r "$work/out" "$golden/products"
  echo "golden files rewritten in $golden/products"
  exit 0
fi
if ! diff -r -u "$golden/products" "$work/out"; then
  echo "FAIL: the outputs differ from $golden/products (UPDATE_GOLDEN=1 rewrites them if the change is wanted)"
  exit 1
fi
echo "golden: $(find "$golden/products" -type f | wc -l) files identical"
