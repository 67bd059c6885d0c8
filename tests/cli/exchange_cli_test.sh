#!/usr/bin/env bash
# End-to-end checks of `export dwca`, `export ecotaxa` and `import ecotaxa` on the bundled example:
# the archive passes tests/tools/validate_dwca.py (python-dwca-reader plus the spec's checklist),
# missing metadata fails before anything is written, the same input gives the same archive, an
# EcoTaxa export comes back matched 100 %, and labels validated in the TSV come back as expert
# labels that `show`, `report` and the next archive see.
#   tests/cli/exchange_cli_test.sh PATH/TO/phytoflow
# Without LibTorch, `classify` exits 6: the checks then run without model predictions.
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"
dataset=tests/data/dwca/dataset.json
validator=tests/tools/validate_dwca.py
# zip, member, python expression over `rows` (list of dicts of a TSV member) that must be true
tsv_check() {
  "$python" - "$1" "$2" "$3" <<'EOF'
import csv, io, sys, zipfile
text = zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode("utf-8")
rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
sys.exit(0 if eval(sys.argv[3]) else 1)
EOF
}
member_contains() {  # zip, member, text that must occur in it
  "$python" -c "import sys,zipfile; sys.exit(0 if sys.argv[3] in zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode() else 1)" "$1" "$2" "$3"
}
# The independent reader is part of the check, never skipped: scripts/setup installs it.
check "$python can import dwca (python-dwca-reader; run scripts/setup)" "$python" -c "import dwca"
validate() {  # archive
  "$python" "$validator" "$1" >"$work/validate.out" 2>&1 || { cat "$work/validate.out"; return 1; }
}

# --- Ingest with the example's metadata sidecar; the culture has no position, so set one.
expect_exit 0 "ingest with the metadata sidecar" \
  "$phytoflow" ingest "$run_dir" --metadata "$example/metadata.csv" --store "$store" --json
check "sidecar metadata stored" json_check "$work/out" \
  "j['metadata']['station']=='lab-culture' and j['metadata']['campaign']=='pygsuia-culture-2025'"

# Without latitude and longitude: exit 3 naming the sample and the fields, nothing written, and an
# existing file at --out is left as it was.
echo "previous archive" >"$work/kept.zip"
expect_exit 3 "export dwca without a position" \
  "$phytoflow" export dwca "$run" --out "$work/kept.zip" --dataset "$dataset" --store "$store"
check "the error names the sample and the missing fields" \
  grep -q "sample '$run' lacks latitude, longitude" "$work/err"
check "the existing file is untouched" test "$(cat "$work/kept.zip")" = "previous archive"
expect_exit 3 "export dwca --all without a position" \
  "$phytoflow" export dwca --all --out "$work/none.zip" --store "$store"
check "nothing written" test ! -e "$work/none.zip"

expect_exit 0 "metadata set position" \
  "$phytoflow" metadata set "$run" latitude=51.4333 longitude=2.8167 depth=3 --store "$store"

"$phytoflow" classify "$run" --store "$store" >"$work/classify.out" 2>"$work/classify.err"
classify_rc=$?
check "classify succeeds, or is unavailable without LibTorch (exit $classify_rc)" \
  test "$classify_rc" -eq 0 -o "$classify_rc" -eq 6
classified=$((classify_rc == 0))

# --- Darwin Core Archive
expect_exit 0 "export dwca" "$phytoflow" export dwca "$run" --out "$work/dwca.zip" \
  --dataset "$dataset" --model-reference "https://example.org/model-card" --store "$store" --json
cp "$work/out" "$work/dwca.json"
check "export dwca JSON" json_check "$work/dwca.json" \
  "j['samples']==1 and j['events']==3 and j['measurements']>=4+4*j['occurrences']"
check "the archive passes validate_dwca.py" validate "$work/dwca.zip"
check "five files" "$python" -c "import sys,zipfile; sys.exit(0 if sorted(zipfile.ZipFile(sys.argv[1]).namelist())==['eml.xml','event.txt','extendedmeasurementorfact.txt','meta.xml','occurrence.txt'] else 1)" "$work/dwca.zip"
# campaign → station visit → sample, ids sanitised and built from campaign, station, date, run.
check "event hierarchy" tsv_check "$work/dwca.zip" event.txt \
  "[r['eventID'] for r in rows]==['pygsuia-culture-2025','pygsuia-culture-2025_lab-culture_2025-04-11','pygsuia-culture-2025_lab-culture_2025-04-11_$run'] and [r['parentEventID'] for r in rows]==['','pygsuia-culture-2025','pygsuia-culture-2025_lab-culture_2025-04-11'] and [r['eventType'] for r in rows]==['campaign','stationVisit','sample']"
check "sample event: position, date, depth, imaged volume" tsv_check "$work/dwca.zip" event.txt \
  "rows[2]['decimalLatitude']=='51.4333' and rows[2]['decimalLongitude']=='2.8167' and rows[2]['eventDate']=='2025-04-11' and rows[2]['maximumDepthInMeters']=='3' and rows[2]['sampleSizeValue']=='0.1418' and rows[2]['sampleSizeUnit']=='mL' and rows[2]['samplingProtocol']=='laboratory culture, sample2 replicate1 day7' and rows[2]['institutionCode']=='EMI'"
check "instrument and gear facts" tsv_check "$work/dwca.zip" extendedmeasurementorfact.txt \
  "any(r['measurementValueID'].endswith('/L22/current/TOOL1583/') for r in rows) and any(r['measurementType']=='Name of sampling instrument' and r['measurementValue']=='culture flask' and r['measurementValueID']=='' for r in rows)"
check "eml.xml from dataset.json, escaped" member_contains "$work/dwca.zip" eml.xml \
  "<organizationName>Example Marine Institute &amp; Lab</organizationName>"
check "no non-living class or class without AphiaID is an occurrence" tsv_check "$work/dwca.zip" occurrence.txt \
  "not any(n in r['verbatimIdentification'] for r in rows for n in ('Junk','Missed','Protist','uncertain'))"
if ((classified)); then
  # The default model labels 2 particles Noctilucales (README of models/), a dinoflagellate taxon.
  check "the predicted dinoflagellates are an occurrence" tsv_check "$work/dwca.zip" occurrence.txt \
    "len(rows)==1 and rows[0]['identificationVerificationStatus']=='PredictedByMachine' and rows[0]['verbatimIdentification']=='Noctilucales' and rows[0]['identificationReferences'].startswith('https://example.org/model-card | phytoflow ') and rows[0]['identificationRemarks'].startswith('classified by phytoflow-flowcam-default-')"
fi

expect_exit 0 "export dwca again" "$phytoflow" export dwca "$run" --out "$work/dwca2.zip" \
  --dataset "$dataset" --model-reference "https://example.org/model-card" --store "$store"
check "the same input gives the same archive, byte for byte" cmp -s "$work/dwca.zip" "$work/dwca2.zip"

# The validator finds violations (so that its pass above means something).
"$python" - "$work/dwca.zip" "$work/broken.zip" <<'EOF'
import sys, zipfile
source = zipfile.ZipFile(sys.argv[1])
files = {name: source.read(name).decode() for name in source.namelist()}
events = files["event.txt"].split("\n")
events.insert(4, events[3])  # a repeated eventID
files["event.txt"] = "\n".join(events).replace("\t2025-04-11\t", "\t11/04/2025\t")
files["extendedmeasurementorfact.txt"] = files["extendedmeasurementorfact.txt"].replace(
    "P01/current/NMANINST/", "Q01/current/Q0100002/")
files["eml.xml"] = files["eml.xml"].replace("<contact>", "<other>").replace("</contact>", "</other>")
emof = [row.split("\t") for row in files["extendedmeasurementorfact.txt"].split("\n")]
for row in emof:  # a biovolume of 0 on a present occurrence
    if len(row) > 5 and row[4].endswith("/CVOLUKNB/"):
        row[5] = "0"
        break
files["extendedmeasurementorfact.txt"] = "\n".join("\t".join(row) for row in emof)
with zipfile.ZipFile(sys.argv[2], "w") as out:
    for name, text in files.items():
        out.writestr(name, text)
EOF
expect_exit 1 "validate_dwca.py rejects a broken archive" "$python" "$validator" "$work/broken.zip"
check "it lists every violation" \
  test "$(grep -c -e "is not unique" -e "is not ISO 8601" -e "deprecated Q01" -e "no contact" -e "is not > 0" "$work/out")" -ge 5

expect_exit 3 "a dataset.json without a title" bash -c \
  "echo '{\"abstract\": \"a\", \"creators\": [{\"name\": \"n\"}], \"contact\": {\"name\": \"c\"}}' >'$work/bad.json' && '$phytoflow' export dwca '$run' --out '$work/x.zip' --dataset '$work/bad.json' --store '$store'"
check "the error names the field" grep -q "field 'title'" "$work/err"
expect_exit 4 "export dwca of an unknown sample" \
  "$phytoflow" export dwca no-such-sample --out "$work/x.zip" --store "$store"
expect_exit 3 "export dwca without SAMPLE or --all" "$phytoflow" export dwca --out "$work/x.zip" --store "$store"

# --- EcoTaxa: export, import back unchanged (matched 100 %), then with validated rows.
expect_exit 0 "export ecotaxa" "$phytoflow" export ecotaxa "$run" --out "$work/ecotaxa.zip" --store "$store" --json
check "export ecotaxa JSON" json_check "$work/out" "j['objects']==1000 and j['without_image']==0"
tsv="ecotaxa_$run.tsv"
check "the package holds the TSV and 1000 vignettes" "$python" -c "import sys,zipfile; n=zipfile.ZipFile(sys.argv[1]).namelist(); sys.exit(0 if n[0]==sys.argv[2] and len(n)==1001 and sum(x.endswith('.png') for x in n)==1000 else 1)" "$work/ecotaxa.zip" "$tsv"
check "typed second row" tsv_check "$work/ecotaxa.zip" "$tsv" \
  "rows[0]['object_id']=='[t]' and rows[0]['object_lat']=='[f]' and len(rows)==1001"
check "objects carry position, date and the FlowCam GUID" tsv_check "$work/ecotaxa.zip" "$tsv" \
  "rows[1]['object_id']=='${run}_1' and rows[1]['img_file_name']=='${run}_1.png' and rows[1]['object_lat']=='51.4333' and rows[1]['object_date']=='20250411' and len(rows[1]['object_flowcam_guid'])>0 and rows[1]['acq_instrument']=='FlowCam'"

expect_exit 0 "import the unchanged export" "$phytoflow" import ecotaxa "$work/ecotaxa.zip" --store "$store" --json
if ((classified)); then
  # 1000 particles, 153 of them uncertain (models/README.md): exported without a category.
  check "round trip: every object matched, predictions back" json_check "$work/out" \
    "j['rows']==1000 and j['unmatched']==[] and j['validated']==0 and j['predicted']+j['skipped']==1000 and j['skipped']==153"
else
  check "round trip: every object matched" json_check "$work/out" \
    "j['rows']==1000 and j['unmatched']==[] and j['skipped']==1000"
fi

# Validate five objects in "EcoTaxa": a new category, an annotator and a time; objects 6 and 7 are
# matched by GUID only (their object id is EcoTaxa's own); one row names no stored particle.
mkdir "$work/edited"
"$python" - "$work/ecotaxa.zip" "$tsv" "$work/edited/$tsv" <<'EOF'
import sys, zipfile
lines = zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode().split("\n")
header = lines[0].split("\t") + ["object_annotation_date", "object_annotation_time"]
types = lines[1].split("\t") + ["[t]", "[t]"]
column = {name: i for i, name in enumerate(header)}
out = ["\t".join(header), "\t".join(types)]
for line in lines[2:]:
    if not line:
        continue
    fields = line.split("\t") + ["", ""]
    number = int(fields[column["object_flowcam_particle_number"]])
    if number <= 7:
        fields[column["object_annotation_status"]] = "validated"
        fields[column["object_annotation_category"]] = "Bacillariophyceae"
        fields[column["object_annotation_person_name"]] = "Jane Doe"
        fields[column["object_annotation_date"]] = "20250502"
        fields[column["object_annotation_time"]] = "101500"
    if number in (6, 7):
        fields[column["object_id"]] = "ecotaxa-object-%d" % number
    out.append("\t".join(fields))
ghost = out[-1].split("\t")
ghost[column["object_id"]] = "no-such-sample_1"
ghost[column["object_flowcam_guid"]] = "00000000-0000-0000-0000-000000000000"
out.append("\t".join(ghost))
open(sys.argv[3], "w").write("\n".join(out) + "\n")
EOF
expect_exit 0 "import the edited TSV from a folder" "$phytoflow" import ecotaxa "$work/edited" --store "$store" --json
cp "$work/out" "$work/import.json"
check "seven validated rows stored, the stray row reported with file and line" json_check "$work/import.json" \
  "j['rows']==1001 and j['validated']==7 and len(j['unmatched'])==1 and j['unmatched'][0]['object_id']=='no-such-sample_1' and j['unmatched'][0]['line']==1003 and j['unmatched'][0]['file'].endswith('$tsv') and j['samples']==['$run']"
expect_exit 0 "import the edited TSV again" "$phytoflow" import ecotaxa "$work/edited" --store "$store"
check "the text report names the unmatched row" grep -q "unmatched: .*$tsv:1003: object 'no-such-sample_1'" "$work/err"

expect_exit 0 "show --json" "$phytoflow" show "$run" --store "$store" --json
check "show sees seven expert labels (imported twice, stored once)" json_check "$work/out" \
  "any(l['source']=='expert' and l['classification']=='ecotaxa' and l['classes']=={'Bacillariophyceae': 7} for l in j['labels'])"
expect_exit 0 "report --json" "$phytoflow" report "$run" --store "$store" --json
check "report counts the validated Bacillariophyceae" json_check "$work/out" \
  "any(t['name']=='Bacillariophyceae' and t['validated']==7 for t in j['taxa']) and j['label_counts']['validated']==7"

expect_exit 0 "export dwca with the expert labels" "$phytoflow" export dwca "$run" --out "$work/dwca3.zip" \
  --dataset "$dataset" --store "$store"
check "that archive passes validate_dwca.py" validate "$work/dwca3.zip"
check "a ValidatedByHuman occurrence names its validator" tsv_check "$work/dwca3.zip" occurrence.txt \
  "any(r['occurrenceID'].endswith('_V_148899') and r['identificationVerificationStatus']=='ValidatedByHuman' and r['identifiedBy']=='Jane Doe' and r['scientificName']=='Bacillariophyceae' and r['organismQuantity']!='' for r in rows)"

# A dubious row removes the EcoTaxa label of its particle only.
"$python" - "$work/edited/$tsv" <<'EOF'
import sys
path = sys.argv[1]
lines = open(path).read().split("\n")
header = lines[0].split("\t")
status = header.index("object_annotation_status")
fields = lines[2].split("\t")
fields[status] = "dubious"
open(path, "w").write("\n".join([lines[0], lines[1], "\t".join(fields)]) + "\n")
EOF
expect_exit 0 "import a dubious row" "$phytoflow" import ecotaxa "$work/edited/$tsv" --store "$store" --json
check "it is skipped" json_check "$work/out" "j['rows']==1 and j['skipped']==1 and j['validated']==0"
expect_exit 0 "show after the dubious row" "$phytoflow" show "$run" --store "$store" --json
check "six expert labels remain" json_check "$work/out" \
  "any(l['source']=='expert' and l['classes']=={'Bacillariophyceae': 6} for l in j['labels'])"

expect_exit 4 "import a missing path" "$phytoflow" import ecotaxa "$work/missing.zip" --store "$store"
echo "not a zip" >"$work/notzip.zip"
expect_exit 3 "import something that is not a zip" "$phytoflow" import ecotaxa "$work/notzip.zip" --store "$store"
mkdir "$work/empty"
expect_exit 3 "import a folder without TSV" "$phytoflow" import ecotaxa "$work/empty" --store "$store"
check "it says so" grep -q "no .tsv file" "$work/err"
printf 'object_id\tobject_annotation_status\nx_1\tvalidated\textra\n' >"$work/bad.tsv"
expect_exit 3 "import a malformed TSV" "$phytoflow" import ecotaxa "$work/bad.tsv" --store "$store"
check "the error names file and line" grep -q "bad.tsv:2: expected 2 tab-separated fields" "$work/err"
expect_exit 4 "export ecotaxa of an unknown sample" \
  "$phytoflow" export ecotaxa no-such-sample --out "$work/x.zip" --store "$store"

finish
