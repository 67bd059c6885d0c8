#!/usr/bin/env bash
# End-to-end checks of sample metadata on the command line: ingest --metadata with the bundled
# sidecar, metadata set/show/import, show's metadata, bad values and unknown samples with their
# exit codes, and that failed commands leave the store untouched.
#   tests/cli/metadata_cli_test.sh PATH/TO/phytoflow
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"
dump() { sqlite3 "$store" .dump; }

# Ingest with the bundled sidecar: the metadata is stored with the run.
expect_exit 0 "ingest --metadata" "$phytoflow" ingest "$run_dir" --store "$store" --json --metadata "$example/metadata.csv"
check "ingest --metadata prints nothing on stderr" test ! -s "$work/err"
check "ingest JSON has the sidecar's metadata" json_check "$work/out" \
  "j['metadata']['station']=='lab-culture' and j['metadata']['campaign']=='pygsuia-culture-2025' and j['metadata']['sampled_at']=='2025-04-11' and j['metadata']['gear']=='culture flask' and j['metadata']['latitude'] is None and j['metadata_updated']==False and j['warnings']==[]"
expect_exit 0 "show --json" "$phytoflow" show "$run" --store "$store" --json
check "show JSON has a metadata object" json_check "$work/out" \
  "j['metadata']['sampling_protocol']=='laboratory culture, sample2 replicate1 day7' and j['metadata']['environment']=={}"
expect_exit 0 "show (text)" "$phytoflow" show "$run" --store "$store"
check "show text lists the metadata" grep -q "^station  *lab-culture$" "$work/out"

# metadata set: offsets become UTC, depth sets both ends, env.NAME, KEY= clears.
expect_exit 0 "metadata set" "$phytoflow" metadata set "$run" "sampled_at=2025-04-11T15:53+02:00" depth=2 \
  temperature_c=18.5 env.chlorophyll_ug_per_l=3.25 gear= --store "$store"
check "set prints the result" grep -q "^sampled_at  *2025-04-11T13:53Z$" "$work/out"
expect_exit 0 "metadata show --json" "$phytoflow" metadata show "$run" --store "$store" --json
check "set values are stored" json_check "$work/out" \
  "j['sample_id']=='$run' and j['metadata']['sampled_at']=='2025-04-11T13:53Z' and j['metadata']['depth_min_m']==2 and j['metadata']['depth_max_m']==2 and j['metadata']['temperature_c']==18.5 and j['metadata']['environment']=={'chlorophyll_ug_per_l':3.25} and j['metadata']['gear'] is None and j['metadata']['station']=='lab-culture'"
expect_exit 0 "metadata show (text)" "$phytoflow" metadata show "$run" --store "$store"
check "show text has env values" grep -q "^env.chlorophyll_ug_per_l  *3.25$" "$work/out"

# Bad values, unknown keys and samples: exit codes, the key named, the store untouched.
dump >"$work/before.sql"
expect_exit 3 "latitude out of range" "$phytoflow" metadata set "$run" latitude=95 --store "$store"
check "range error names the key" grep -q "latitude: expected a number from -90 to 90" "$work/err"
expect_exit 3 "time without zone" "$phytoflow" metadata set "$run" sampled_at=2025-04-11T10:00 --store "$store"
check "time error asks for Z or an offset" grep -q "sampled_at: '2025-04-11T10:00' has no time zone; add Z" "$work/err"
expect_exit 3 "decimal comma" "$phytoflow" metadata set "$run" salinity=34,5 --store "$store"
check "number error names the key" grep -q "salinity: expected a number" "$work/err"
expect_exit 3 "unknown key" "$phytoflow" metadata set "$run" lat=51 --store "$store"
check "unknown key is named" grep -q "unknown metadata key 'lat'" "$work/err"
expect_exit 3 "pair without =" "$phytoflow" metadata set "$run" station --store "$store"
expect_exit 3 "depth range inverted" "$phytoflow" metadata set "$run" depth_min_m=5 --store "$store"
check "depth error names both ends" grep -q "depth_min_m: expected at most depth_max_m (2 m), found 5 m" "$work/err"
expect_exit 4 "set on an unknown sample" "$phytoflow" metadata set no-such-sample station=x --store "$store"
expect_exit 4 "show an unknown sample" "$phytoflow" metadata show no-such-sample --store "$store"
printf 'run;latitude\n%s;51\nother;95\n' "$run" >"$work/bad.csv"
expect_exit 3 "import a bad file" "$phytoflow" metadata import "$work/bad.csv" --store "$store"
check "import error names file, line and key" grep -q "$work/bad.csv:3: latitude: expected" "$work/err"
expect_exit 4 "import a missing file" "$phytoflow" metadata import "$work/none.csv" --store "$store"
printf 'run,station\nnot-stored,W1\n' >"$work/nomatch.csv"
expect_exit 4 "import where nothing matches" "$phytoflow" metadata import "$work/nomatch.csv" --store "$store"
check "nothing matched is explained" grep -q "no record matches a stored sample" "$work/err"
expect_exit 3 "ingest with a bad sidecar" "$phytoflow" ingest "$run_dir" --store "$work/other.db" --metadata "$work/bad.csv"
check "a bad sidecar stores nothing" test ! -e "$work/other.db"
dump >"$work/after.sql"
check "failed commands left the store as it was" cmp -s "$work/before.sql" "$work/after.sql"

# import: CSV with semicolons and an unmatched run (a warning), then JSON keyed by run.
printf '\xef\xbb\xbfrun;station;latitude;longitude\n%s;"W;08";51.25;2.5\ntypo-run;W09;;\n' "$run" >"$work/stations.csv"
expect_exit 0 "import CSV" "$phytoflow" metadata import "$work/stations.csv" --store "$store"
check "import names the updated sample" grep -q "^updated $run$" "$work/out"
check "unmatched run is a warning" grep -q "warning: .*run 'typo-run' matches no stored sample" "$work/err"
printf '{"%s": {"salinity": 7.5, "env.oxygen_umol_per_kg": "250"}}\n' "$run" >"$work/env.json"
expect_exit 0 "import JSON" "$phytoflow" metadata import "$work/env.json" --store "$store" --json
check "import JSON report" json_check "$work/out" "j['updated']==['$run'] and j['unmatched_runs']==[]"
expect_exit 0 "import JSON again" "$phytoflow" metadata import "$work/env.json" --store "$store" --json
check "the same values again are unchanged" json_check "$work/out" "j['updated']==[] and j['unchanged']==['$run']"
expect_exit 0 "metadata after imports" "$phytoflow" metadata show "$run" --store "$store" --json
check "imports merged into the stored metadata" json_check "$work/out" \
  "j['metadata']['station']=='W;08' and j['metadata']['latitude']==51.25 and j['metadata']['longitude']==2.5 and j['metadata']['salinity']==7.5 and j['metadata']['temperature_c']==18.5 and j['metadata']['environment']=={'chlorophyll_ug_per_l':3.25,'oxygen_umol_per_kg':250}"

# Ingesting an unchanged run with a sidecar updates its metadata and says so.
printf 'run,water_body\n%s,Baltic Sea\n' "$run" >"$work/water.csv"
expect_exit 0 "ingest unchanged run with a new sidecar" "$phytoflow" ingest "$run_dir" --store "$store" --metadata "$work/water.csv"
check "ingest reports the metadata update" grep -q "metadata updated from the sidecar" "$work/out"
expect_exit 0 "ingest unchanged run, --json" "$phytoflow" ingest "$run_dir" --store "$store" --metadata "$work/water.csv" --json
check "the same sidecar again updates nothing" json_check "$work/out" \
  "j['outcome']=='unchanged' and j['metadata_updated']==False and j['metadata']['water_body']=='Baltic Sea' and j['metadata']['station']=='W;08'"

# A sidecar without a row for the run: a warning stored with the run.
expect_exit 0 "ingest with a sidecar that lacks the run" "$phytoflow" ingest "$run_dir" --store "$work/fresh.db" --json --metadata "$work/nomatch.csv"
check "missing row is a stored warning" json_check "$work/out" \
  "len(j['warnings'])==1 and 'no sample metadata for this run' in j['warnings'][0] and j['metadata']['station'] is None"
check "unmatched sidecar rows are warned about" grep -q "run 'not-stored' matches none of the ingested runs" "$work/err"

finish
