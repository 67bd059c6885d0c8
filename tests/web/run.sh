#!/usr/bin/env bash
# End-to-end test of the web UI in real headless Chromium (ui.test.mjs, Playwright): starts
# `phytoflow serve` on a free port with a fresh SQLite store and an admin token (holding a small
# synthetic multi-year series for the indicators), zips the bundled FlowCam export for the test
# to upload, runs the test, and stops the server.
#   tests/web/run.sh PATH/TO/phytoflow
# Needs /usr/bin/chromium (or $PHYTOFLOW_CHROMIUM) and `npm ci` in tests/web (scripts/setup does
# both). Screenshots go to $PHYTOFLOW_WEB_ARTIFACTS (default build/test-artifacts/web).
set -euo pipefail
phytoflow=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
repo=$(pwd)

chromium=${PHYTOFLOW_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" ]]; then
  echo "web test: no Chromium at $chromium (scripts/setup installs Debian's chromium)" >&2
  exit 1
fi
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  echo "web test: playwright-core is not installed: run 'npm ci' in tests/web (scripts/setup does)" >&2
  exit 1
fi

work=$(mktemp -d)
server=""
stop_server() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  server=""
}
trap 'stop_server; rm -rf "$work"' EXIT
unset PHYTOFLOW_MODEL PHYTOFLOW_STORE PHYTOFLOW_STATE PHYTOFLOW_PUBLIC_READ PHYTOFLOW_CONFIG

# The upload: the bundled run folder as a zip, as a user would make it, with its metadata sidecar.
example=examples/vicko_pygsuia_2025
run_dir=$example/7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025
/usr/bin/python3 - "$run_dir" "$work/export.zip" <<'EOF'
import os, sys, zipfile
folder, out = sys.argv[1], sys.argv[2]
base = os.path.dirname(os.path.abspath(folder))
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            path = os.path.join(root, name)
            archive.write(path, os.path.relpath(os.path.abspath(path), base))
EOF
cp "$example/metadata.csv" "$work/metadata.csv"

store="$work/store.db"
if ! token=$("$phytoflow" token create --role admin --name web-tester --store "$store" 2>"$work/token.err"); then
  echo "web test: phytoflow token create failed:" >&2
  cat "$work/token.err" >&2
  exit 1
fi
# A small multi-year series for the indicators page: one station (W01, area SNS) × 4 years
# (2015–2018) × 12 monthly runs, every particle validated by an EcoTaxa import (as
# tests/cli/indicators_cli_test.sh does with the full set). 48 samples, so that the uploaded one
# is still on the first page of 50 of the samples table; a few seconds in the sanitized build.
synthetic="$work/synthetic"
/usr/bin/python3 tools/synthetic_series.py "$synthetic" --stations 1 --years 4 >"$work/synthetic.out"
store_synthetic() {
  if ! "$phytoflow" "$@" --store "$store" --json >"$work/synthetic.json" 2>"$work/synthetic.err"; then
    echo "web test: phytoflow $1 of the synthetic series failed:" >&2
    cat "$work/synthetic.err" >&2
    exit 1
  fi
}
store_synthetic ingest "$synthetic/runs" --metadata "$synthetic/metadata.csv"
store_synthetic import ecotaxa "$synthetic/ecotaxa"

"$phytoflow" serve --store "$store" --port 0 >"$work/serve.out" 2>"$work/serve.err" &
server=$!
port=""
for _ in $(seq 1 300); do
  port=$(grep -oE 'on http://127\.0\.0\.1:[0-9]+' "$work/serve.err" 2>/dev/null | grep -oE '[0-9]+$' || true)
  [[ -n "$port" ]] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
if [[ -z "$port" ]]; then
  echo "web test: the server did not start:" >&2
  cat "$work/serve.err" >&2
  exit 1
fi

status=0
PHYTOFLOW_BASE_URL="http://127.0.0.1:$port" \
PHYTOFLOW_TOKEN="$token" \
PHYTOFLOW_TOKEN_NAME=web-tester \
PHYTOFLOW_EXPORT_ZIP="$work/export.zip" \
PHYTOFLOW_METADATA="$work/metadata.csv" \
PHYTOFLOW_WORK="$work" \
PHYTOFLOW_SYNTHETIC="$synthetic/expected.json" \
PHYTOFLOW_CHROMIUM="$chromium" \
PHYTOFLOW_WEB_ARTIFACTS="${PHYTOFLOW_WEB_ARTIFACTS:-$repo/build/test-artifacts/web}" \
  node --test --test-reporter=spec "$here/ui.test.mjs" || status=$?

stop_server
if [[ $status -ne 0 ]]; then
  echo "--- server log (last 40 lines)" >&2
  tail -n 40 "$work/serve.err" >&2
fi
exit $status
