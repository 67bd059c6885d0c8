#!/usr/bin/env bash
# End-to-end checks of the MongoDB store on the command line: the bundled example ingested with
# --store mongodb://, idempotence, metadata, vignettes, `store copy` MongoDB → SQLite → MongoDB
# (counts and checksums equal, a second copy skips), `store gc`, and the errors of a bad URI, an
# unreachable server (bounded, password hidden) and a bad copy.
#   tests/cli/mongo_cli_test.sh PATH/TO/phytoflow
# Needs PHYTOFLOW_TEST_MONGO_URI (scripts/test sets it); fails without it.
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"
if [[ -z "${PHYTOFLOW_TEST_MONGO_URI:-}" ]]; then
  echo "FAIL: PHYTOFLOW_TEST_MONGO_URI is not set. Run under a test server:" >&2
  echo "  tests/tools/mongo_test_server.sh ctest --test-dir build/dev -R mongo_cli" >&2
  echo "or against a real mongod: PHYTOFLOW_TEST_MONGO_URI=mongodb://localhost:27017 ctest ..." >&2
  exit 1
fi

# Two databases of our own on the test server, dropped at the end.
with_database() {  # base URI, database name → URI
  "$python" -c '
import sys
uri, name = sys.argv[1], sys.argv[2]
hosts = uri.find("://") + 3
query = uri.find("?", hosts)
query = len(uri) if query < 0 else query
slash = uri.find("/", hosts)
end = query if slash < 0 or slash > query else slash
print(uri[:end] + "/" + name + uri[query:])' "$1" "$2"
}
suffix="$$_$RANDOM"
mongo_a=$(with_database "$PHYTOFLOW_TEST_MONGO_URI" "phytoflow_cli_a_$suffix")
mongo_b=$(with_database "$PHYTOFLOW_TEST_MONGO_URI" "phytoflow_cli_b_$suffix")
sqlite="$work/copy.db"
cleanup() {
  "$python" - "$mongo_a" "$mongo_b" <<'EOF' || echo "warning: test databases not dropped" >&2
import sys
import pymongo
for uri in sys.argv[1:]:
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    client.drop_database(client.get_default_database().name)
EOF
  rm -rf "$work"
}
trap cleanup EXIT

json_value() {  # file, python expression over `j`: prints its value
  "$python" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

# Ingest into MongoDB: the example run has 1000 particles, each with vignette and mask, and 89
# VisualSpreadsheet labels.
expect_exit 0 "ingest into MongoDB" "$phytoflow" ingest "$run_dir" --store "$mongo_a" --json
check "ingest prints nothing on stderr" test ! -s "$work/err"
check "ingest report" json_check "$work/out" \
  "j['outcome']=='ingested' and j['particles']==1000 and j['labels']==89"
expect_exit 0 "ingest again" "$phytoflow" ingest "$run_dir" --store "$mongo_a" --json
check "ingest is idempotent" json_check "$work/out" "j['outcome']=='unchanged'"
expect_exit 0 "samples" "$phytoflow" samples --store "$mongo_a" --json
check "one sample listed" json_check "$work/out" "len(j)==1 and j[0]['sample_id']=='$run'"
expect_exit 0 "metadata set" "$phytoflow" metadata set "$run" station=W08 depth=2 --store "$mongo_a"
expect_exit 0 "vignettes from MongoDB" "$phytoflow" vignettes "$run" --out "$work/v_mongo" --store "$mongo_a"
check "1000 vignettes written" test "$(ls "$work/v_mongo" | wc -l)" -eq 1000

# MongoDB → SQLite → another MongoDB database: the same content, the same checksum.
expect_exit 0 "copy MongoDB to SQLite" "$phytoflow" store copy "$mongo_a" "$sqlite" --json
check "copy report" json_check "$work/out" \
  "j['copied']==['$run'] and j['skipped']==[] and j['particles']==1000 and j['images']==1000 and j['masks']==1000 and j['labels']==89 and j['verified']"
checksum=$(json_value "$work/out" "j['checksum']")
expect_exit 0 "copy SQLite to MongoDB" "$phytoflow" store copy "$sqlite" "$mongo_b" --json
check "copy back has the same checksum" json_check "$work/out" \
  "j['copied']==['$run'] and j['checksum']=='$checksum' and j['particles']==1000"
expect_exit 0 "copy again" "$phytoflow" store copy "$sqlite" "$mongo_b"
check "copy again skips the sample" grep -q "^skipped $run: already in .* as $run (same fingerprint)$" "$work/out"
check "copy again copies nothing" grep -q "^copied 0 samples" "$work/out"
"$phytoflow" show "$run" --store "$mongo_a" --json >"$work/show_a.json"
"$phytoflow" show "$run" --store "$sqlite" --json >"$work/show_sqlite.json"
"$phytoflow" show "$run" --store "$mongo_b" --json >"$work/show_b.json"
check "show is the same from SQLite as from MongoDB" cmp -s "$work/show_a.json" "$work/show_sqlite.json"
check "show is the same after the copy back" cmp -s "$work/show_a.json" "$work/show_b.json"
check "the metadata came along" json_check "$work/show_b.json" \
  "j['metadata']['station']=='W08' and j['metadata']['depth_min_m']==2"
expect_exit 0 "vignettes from the copy" "$phytoflow" vignettes "$run" --out "$work/v_copy" --store "$mongo_b"
check "vignettes are byte-identical after two copies" diff -r "$work/v_mongo" "$work/v_copy"

# Garbage collection: nothing was interrupted, so nothing to remove.
expect_exit 0 "store gc" "$phytoflow" store gc --store "$mongo_a" --json
check "gc removed nothing" json_check "$work/out" "j['writes']==0 and j['particles']==0"
expect_exit 0 "store gc on SQLite" "$phytoflow" store gc --store "$sqlite"
check "SQLite needs no gc" grep -q "nothing to collect" "$work/out"

# Errors.
expect_exit 3 "a URI without database" "$phytoflow" samples --store "mongodb://127.0.0.1:1"
start=$SECONDS
expect_exit 6 "an unreachable server" "$phytoflow" samples --store "mongodb://lab:t0ps3cret@127.0.0.1:1/db"
check "unreachable within 10 s" test $((SECONDS - start)) -lt 10
check "unreachable names the server" grep -q "cannot reach MongoDB at 127.0.0.1:1 within 5 s" "$work/err"
check "the password is never shown" test "$(grep -c t0ps3cret "$work/err")" -eq 0
expect_exit 4 "copy from a missing SQLite file" "$phytoflow" store copy "$work/none.db" "$mongo_a"
check "a missing source is not created" test ! -e "$work/none.db"
expect_exit 3 "copy a store onto itself" "$phytoflow" store copy "$mongo_a" "$mongo_a"

finish
