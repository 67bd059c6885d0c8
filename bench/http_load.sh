#!/usr/bin/env bash
# Load test of the HTTP service (docs/performance.md, "HTTP service"): starts `phytoflow serve`
# on a store holding the bundled example and runs wrk with 2 threads and 64 connections against
# GET /api/v1/samples (without and with a token) and the particle vignettes (spread over the
# 1000 particles by http_load_images.lua). Prints requests/s, p99 latency and errors per run.
#   bench/http_load.sh [PATH/TO/phytoflow]    default: a release build in build/release
# Environment: DURATION (wrk -d, default 10s), CONNECTIONS (default 64), THREADS (server request
# threads, default 64).
set -euo pipefail
cd "$(dirname "$0")/.."

phytoflow=${1:-}
if [[ -z "$phytoflow" ]]; then
  cmake --preset release >/dev/null
  cmake --build build/release --target phytoflow
  phytoflow=build/release/src/phytoflow/cli/phytoflow
fi
phytoflow=$(realpath "$phytoflow")
command -v wrk >/dev/null || { echo "http_load: wrk is missing (apt-get install wrk)" >&2; exit 1; }
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}

work=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

run_dir=examples/vicko_pygsuia_2025/7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025
sample=$(basename "$run_dir")
"$phytoflow" ingest "$run_dir" --store "$work/bench.db" >/dev/null
token=$("$phytoflow" token create --role viewer --name http-load --store "$work/bench.db" 2>/dev/null)

# The server itself in the background (not a subshell), so that SIGTERM reaches it.
"$phytoflow" serve --store "$work/bench.db" --port 0 --public-read --no-access-log \
  --threads "${THREADS:-64}" 2>"$work/serve.err" &
server=$!
port=""
for _ in $(seq 1 150); do
  port=$(grep -oE 'on http://127\.0\.0\.1:[0-9]+' "$work/serve.err" 2>/dev/null | grep -oE '[0-9]+$' || true)
  [[ -n "$port" ]] && break
  sleep 0.2
done
[[ -n "$port" ]] || { echo "http_load: the server did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
base="http://127.0.0.1:$port"
curl -sf "$base/api/v1/samples/$sample/particles/1/image.png" -o /dev/null  # fills the image cache

# Prints "<name>: N requests/s, p99 X, errors E" from wrk's --latency output.
summarise() {
  local name=$1 file=$2
  local rps p99 errors non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$file")
  p99=$(awk '$1 == "99%" {print $2}' "$file")
  errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$file")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$file")
  echo "$name: ${rps} requests/s, p99 ${p99}, errors $((${errors:-0} + ${non2xx:-0}))"
}

echo "phytoflow $("$phytoflow" --version), wrk -t2 -c$connections -d$duration, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t2 -c"$connections" -d"$duration" --latency "$base/api/v1/samples" >"$work/samples.txt"
summarise "GET /api/v1/samples (public)" "$work/samples.txt"
wrk -t2 -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $token" \
  "$base/api/v1/samples" >"$work/samples_token.txt"
summarise "GET /api/v1/samples (token)" "$work/samples_token.txt"
PHYTOFLOW_SAMPLE=$sample PHYTOFLOW_PARTICLES=1000 wrk -t2 -c"$connections" -d"$duration" --latency \
  -s bench/http_load_images.lua "$base" >"$work/images.txt"
summarise "GET .../particles/N/image.png" "$work/images.txt"
if [[ -n "${VERBOSE:-}" ]]; then
  cat "$work/samples.txt" "$work/samples_token.txt" "$work/images.txt"
fi
