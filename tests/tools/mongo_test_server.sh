#!/usr/bin/env bash
# Starts a throwaway MongoDB-compatible server for the MongoDB tests: SecantusDB (pinned in
# scripts/setup) on 127.0.0.1 at a free port, with its data in a temporary folder, as a
# standalone server like a plain mongod. Waits until it answers (at most 60 s), then either
#   tests/tools/mongo_test_server.sh COMMAND [ARGS...]
#       runs COMMAND with PHYTOFLOW_TEST_MONGO_URI set, stops the server, exits with its status;
#   tests/tools/mongo_test_server.sh
#       prints the URI (one line on stdout) and serves until it gets SIGTERM or SIGINT.
# The server and its folder are removed on exit, however the script ends. Its log is printed
# on stderr when it fails to start.
set -euo pipefail

python=${PHYTOFLOW_PYTHON:-/usr/bin/python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/phytoflow-mongo-XXXXXX")
server=""

stop() {
  if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    # SecantusDB closes WiredTiger cleanly on SIGTERM; give it 10 s, then force it.
    for _ in $(seq 1 100); do
      kill -0 "$server" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Answers once the server completes a `ping` over the wire protocol.
answers() {
  "$python" - "$1" <<'EOF' >/dev/null 2>&1
import sys
import pymongo
client = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=1000, directConnection=True)
client.admin.command("ping")
EOF
}

# A port freed by free_port can be taken by someone else before the server binds it: try again.
uri=""
for attempt in 1 2 3; do
  port=$(free_port)
  "$python" -m secantus --host 127.0.0.1 --port "$port" --storage-path "$work/data-$attempt" \
    --log-level WARNING --standalone >"$work/server.log" 2>&1 &
  server=$!
  deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$server" 2>/dev/null; then
      break
    fi
    if answers "mongodb://127.0.0.1:$port/"; then
      uri="mongodb://127.0.0.1:$port/"
      break 2
    fi
    sleep 0.1
  done
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
done
if [[ -z "$uri" ]]; then
  echo "mongo_test_server: SecantusDB did not answer within 60 s; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

if [[ $# -gt 0 ]]; then
  status=0
  PHYTOFLOW_TEST_MONGO_URI="$uri" "$@" || status=$?
  exit "$status"
fi
echo "$uri"
# Serve until told to stop; `wait` returns early when a trapped signal arrives.
while kill -0 "$server" 2>/dev/null; do
  wait "$server" || true
done
echo "mongo_test_server: the server stopped by itself; its log:" >&2
cat "$work/server.log" >&2
exit 1
