#!/usr/bin/env bash
# End-to-end checks of the phytoflow command line on the bundled example: outputs, JSON keys,
# idempotence, zip input, exit codes, and that failures leave the store untouched.
#   tests/cli/cli_test.sh PATH/TO/phytoflow
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"
dump() { sqlite3 "$store" .dump | grep -v '^INSERT INTO samples' ; sqlite3 "$store" "SELECT id, fingerprint, particle_count FROM samples ORDER BY id"; }

# --help documents the exit codes.
expect_exit 0 "--help" "$phytoflow" --help
check "--help lists exit codes" grep -q "3  invalid input" "$work/out"
expect_exit 2 "unknown option" "$phytoflow" ingest --no-such-option

# First ingest: one JSON object with the required keys and the spec's concentration.
expect_exit 0 "ingest --json" "$phytoflow" ingest "$run_dir" --store "$store" --json
cp "$work/out" "$work/first.json"
check "ingest prints nothing on stderr when not on a terminal" test ! -s "$work/err"
check "ingest JSON keys" json_check "$work/first.json" \
  "all(k in j for k in ['sample_id','run_name','particles','volume_imaged_ml','particles_per_ml','warnings'])"
check "ingest JSON values" json_check "$work/first.json" \
  "j['particles']==1000 and j['volume_imaged_ml']==0.1418 and abs(j['particles_per_ml']-7054)/7054<0.005 and j['outcome']=='ingested' and j['warnings']==[] and j['labels']==89"
sample=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['sample_id'])" "$work/first.json")
check "sample id is the run name" test "$sample" = "$run"

# Again: unchanged, and the store is byte-for-byte the same data.
dump >"$work/before.sql"
expect_exit 0 "second ingest" "$phytoflow" ingest "$run_dir" --store "$store" --json
check "second ingest is unchanged" json_check "$work/out" \
  "j['outcome']=='unchanged' and j['sample_id']=='$sample' and j['labels']==89 and j['particles_without_image'] is None"
dump >"$work/after.sql"
check "second ingest changed nothing" cmp -s "$work/before.sql" "$work/after.sql"

# A zip of the same run is the same run.
(cd "$(dirname "$run_dir")" && "$python" -m zipfile -c "$work/run.zip" "$run") >/dev/null
expect_exit 0 "ingest zip" "$phytoflow" ingest "$work/run.zip" --store "$store" --json
check "zip of a stored run is unchanged" json_check "$work/out" "j['outcome']=='unchanged'"
expect_exit 0 "ingest zip into a new store" "$phytoflow" ingest "$work/run.zip" --store "sqlite:$work/zip.db" --json
check "zip ingests the same particles" json_check "$work/out" "j['particles']==1000 and j['outcome']=='ingested'"
expect_exit 0 "show a zip-ingested sample" "$phytoflow" show "$sample" --store "$work/zip.db" --json
check "a zip-ingested sample names the zip as its source" json_check "$work/out" "j['source_path']=='$work/run.zip:$run'"
check "zip leaves no temporary folder" test -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'phytoflow-zip-*' -newer "$work/run.zip" 2>/dev/null)"

# Several paths give a JSON array; --replace reads a run again under the same id.
expect_exit 0 "ingest two paths" "$phytoflow" ingest "$run_dir" "$work/run.zip" --store "$store" --json --replace
check "two paths give an array of two replaced runs" json_check "$work/out" \
  "isinstance(j,list) and len(j)==2 and all(r['outcome']=='replaced' and r['sample_id']=='$sample' for r in j)"

# samples and show.
expect_exit 0 "samples --json" "$phytoflow" samples --store "$store" --json
check "samples lists one sample" json_check "$work/out" "len(j)==1 and j[0]['sample_id']=='$sample' and j[0]['particles']==1000"
expect_exit 0 "samples (table)" "$phytoflow" samples --store "$store"
check "samples table names the sample" grep -q "$sample" "$work/out"
expect_exit 0 "show --json" "$phytoflow" show "$sample" --store "$store" --json
check "show JSON" json_check "$work/out" \
  "j['sample_id']=='$sample' and j['particles']==1000 and j['volume_imaged_ml']==0.1418 and j['calibration_um_per_px']==0.5544 and j['software_version']=='4.19.3' and j['utc_offset_minutes']==120 and j['context']['Fluid']['FlowCellType']=='FC100' and j['labels'][0]['source']=='VisualSpreadsheet' and j['labels'][0]['classes']=={'Junk':87,'protist':2}"
expect_exit 0 "show (text)" "$phytoflow" show "$sample" --store "$store"
check "show text has the concentration" grep -q "particles/ml" "$work/out"

# vignettes: one PNG per particle, named by GUID.
expect_exit 0 "vignettes" "$phytoflow" vignettes "$sample" --out "$work/vignettes" --store "$store"
check "1000 vignettes" test "$(find "$work/vignettes" -name '*.png' | wc -l)" -eq 1000
check "vignette named by GUID" test -s "$work/vignettes/C60339F4-9D66-4CC9-9EE1-5966639FC33C.png"
check "vignette is a PNG" "$python" -c "import sys; sys.exit(0 if open(sys.argv[1],'rb').read(8)==b'\x89PNG\r\n\x1a\n' else 1)" \
  "$work/vignettes/C60339F4-9D66-4CC9-9EE1-5966639FC33C.png"

# Bad input: clear errors, documented exit codes, store untouched.
dump >"$work/before.sql"
expect_exit 4 "missing path" "$phytoflow" ingest "$work/no-such-export" --store "$store"
check "missing path is named" grep -q "no-such-export: no such file or folder" "$work/err"
mkdir -p "$work/bad" && cp -r "$run_dir" "$work/bad/"
sed -i '100s/^\([0-9]*\)|\([0-9]*\)|/\1|x\2|/' "$work/bad/$run/$run.lst"
expect_exit 3 "malformed list" "$phytoflow" ingest "$work/bad" --store "$store"
check "malformed list names file, line and field" grep -q "$run.lst:100: field 'image_x': expected an integer" "$work/err"
head -c 20000 "$run_dir/$run.lst" >"$work/bad/$run/$run.lst"
expect_exit 3 "truncated list" "$phytoflow" ingest "$work/bad" --store "$store"
check "truncated list is reported" grep -q "expected 65 values" "$work/err"
expect_exit 3 "one good run and one bad" "$phytoflow" ingest "$run_dir" "$work/bad" --store "$store"
check "earlier runs are reported before the error" grep -q "^unchanged $sample" "$work/out"
check "the error names what was stored before it" grep -q "stored before it: $sample" "$work/err"
expect_exit 4 "unknown sample" "$phytoflow" show no-such-sample --store "$store"
expect_exit 3 "unknown store scheme" "$phytoflow" samples --store "postgres://x"
expect_exit 6 "MongoDB store not in this build" "$phytoflow" samples --store "mongodb://127.0.0.1:1/db"
dump >"$work/after.sql"
check "failed commands left the store as it was" cmp -s "$work/before.sql" "$work/after.sql"

# A missing collage is a warning (particles kept without image), or an error with --strict.
rm -rf "$work/gap" && mkdir -p "$work/gap" && cp -r "$run_dir" "$work/gap/"
rm "$work/gap/$run/${run}_000002.tif"
expect_exit 3 "--strict with a missing collage" "$phytoflow" ingest "$work/gap" --store "$work/gap.db" --strict
check "--strict names the collage" grep -q "collage '${run}_000002.tif' is missing" "$work/err"
expect_exit 0 "missing collage without --strict" "$phytoflow" ingest "$work/gap" --store "$work/gap.db" --json
check "missing collage is a warning" json_check "$work/out" \
  "j['particles']==1000 and j['particles_without_image']>0 and any('is missing' in w for w in j['warnings'])"

# On a terminal the ingest shows a progress bar with rate and ETA.
if command -v script >/dev/null; then
  script -qec "$phytoflow ingest $run_dir --store $work/tty.db" /dev/null >"$work/tty.out" 2>&1
  check "progress bar on a terminal" grep -q "particles/s ETA" "$work/tty.out"
fi

finish
