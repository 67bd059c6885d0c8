#!/usr/bin/env bash
# End-to-end checks of `phytoflow validate` and `phytoflow history` on the bundled example: a list
# with a range validated in one go, dubious, undo and redo, what `report` and `export dwca` make
# of the validations, errors that write nothing, and four processes validating one particle at
# once (every event kept, the highest sequence number wins).
#   tests/cli/validate_cli_test.sh PATH/TO/phytoflow
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"
dataset=tests/data/dwca/dataset.json
# zip, member, python expression over `rows` (list of dicts of a TSV member) that must be true
tsv_check() {
  "$python" - "$1" "$2" "$3" <<'PY'
import csv, io, sys, zipfile
text = zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode("utf-8")
rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
}
validated_count() {  # the report's count of validated particles, on stdout
  "$phytoflow" report "$run" --store "$store" --json |
    "$python" -c "import json,sys; print(json.load(sys.stdin)['label_counts']['validated'])"
}

expect_exit 0 "ingest with the metadata sidecar" \
  "$phytoflow" ingest "$run_dir" --metadata "$example/metadata.csv" --store "$store"
expect_exit 0 "metadata set position" \
  "$phytoflow" metadata set "$run" latitude=51.4333 longitude=2.8167 depth=3 --store "$store"

# --- Six particles in one batch; the class in any case takes the taxonomy's spelling.
expect_exit 0 "validate a list with a range" "$phytoflow" validate "$run" --particles 1,5-9 \
  --label bacillariophyceae --author "Jane Doe" --store "$store" --json
cp "$work/out" "$work/validate.json"
check "six events in particle order, increasing sequence numbers" json_check "$work/validate.json" \
  "[e['particle_number'] for e in j['events']]==[1,5,6,7,8,9] and all(e['name']=='Bacillariophyceae' and e['author']=='Jane Doe' and e['kind']=='validate' and e['status']=='validated' and e['classification']=='phytoflow' for e in j['events']) and all(a['sequence']<b['sequence'] for a,b in zip(j['events'],j['events'][1:]))"
check "created_at is UTC to the microsecond" json_check "$work/validate.json" \
  "all(len(e['created_at'])==27 and e['created_at'][19]=='.' and e['created_at'].endswith('Z') for e in j['events'])"
expect_exit 0 "report --json" "$phytoflow" report "$run" --store "$store" --json
check "the report counts six validated Bacillariophyceae" json_check "$work/out" \
  "j['label_counts']['validated']==6 and any(t['name']=='Bacillariophyceae' and t['validated']==6 for t in j['taxa'])"
expect_exit 0 "show --json" "$phytoflow" show "$run" --store "$store" --json
check "show counts the expert labels" json_check "$work/out" \
  "any(l['source']=='expert' and l['classification']=='phytoflow' and l['classes']=={'Bacillariophyceae': 6} for l in j['labels'])"

# --- Dubious: no longer validated; undo gives the validation back; undoing the undo redoes.
expect_exit 0 "mark particle 9 dubious" \
  "$phytoflow" validate "$run" --particles 9 --dubious --author "Jo Bloggs" --store "$store"
check "the text output says so" grep -q "particle 9: dubious by Jo Bloggs" "$work/out"
check "5 validated after the doubt" test "$(validated_count)" = 5
expect_exit 0 "undo particle 9" "$phytoflow" validate "$run" --undo 9 --author "Jo Bloggs" --store "$store" --json
check "the undo names the event it undoes" json_check "$work/out" \
  "j['events'][0]['kind']=='undo' and j['events'][0]['undoes']==j['events'][0]['sequence']-1 and j['events'][0]['name']=='Bacillariophyceae'"
undo_sequence=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['events'][0]['sequence'])" "$work/out")
check "6 validated after the undo" test "$(validated_count)" = 6
expect_exit 5 "undo with a stale --expect" "$phytoflow" validate "$run" --undo 9 --expect 1 --author "Jo Bloggs" --store "$store"
check "it names the newest event" grep -q "newest is event $undo_sequence" "$work/err"
expect_exit 0 "undo the undo (redo)" "$phytoflow" validate "$run" --undo 9 --expect "$undo_sequence" --author "Jo Bloggs" --store "$store"
check "5 validated after the redo of the doubt" test "$(validated_count)" = 5

expect_exit 0 "history --json" "$phytoflow" history "$run" 9 --store "$store" --json
check "history: the .cla label, then validate, dubious, undo, undo; dubious now" json_check "$work/out" \
  "[e['kind'] for e in j['history']]==['label','validate','dubious','undo','undo'] and [e['current'] for e in j['history'] if e['source']=='expert']==[False,False,False,True] and j['label']['dubious'] is True and j['label']['status']=='unlabelled' and j['newest_sequence']==j['history'][-1]['sequence']"
expect_exit 0 "history as text" "$phytoflow" history "$run" 1 --store "$store"
check "the text history names the validation" grep -q "validate .*Bacillariophyceae *Jane Doe  (current)" "$work/out"

# --- Errors write nothing.
expect_exit 4 "a particle the sample lacks" "$phytoflow" validate "$run" --particles 2,5000 \
  --label Bacillariophyceae --author "Jane Doe" --store "$store"
check "the error names it" grep -q "has no particle 5000; nothing was written" "$work/err"
expect_exit 0 "history of particle 2" "$phytoflow" history "$run" 2 --store "$store" --json
check "particle 2 was not validated" json_check "$work/out" "j['history']==[] and j['label']['status']=='unlabelled'"
expect_exit 3 "an unknown class" "$phytoflow" validate "$run" --particles 2 --label Nonexistentia --author "Jane Doe" --store "$store"
check "the error says how to accept it" grep -q "unknown class 'Nonexistentia'" "$work/err"
expect_exit 0 "a new class with --new-class" "$phytoflow" validate "$run" --particles 2 --label Nonexistentia --new-class --author "Jane Doe" --store "$store"
check "6 validated with the new class" test "$(validated_count)" = 6
# The Darwin Core export refuses classes the taxonomy lacks: take it back (undo to no label).
expect_exit 0 "undo the new class" "$phytoflow" validate "$run" --undo 2 --author "Jane Doe" --store "$store" --json
check "the undo withdraws the label" json_check "$work/out" "j['events'][0]['status']=='withdrawn'"
expect_exit 4 "an unknown sample" "$phytoflow" validate no-such-sample --particles 1 --label Bacillariophyceae --author "Jane Doe" --store "$store"
expect_exit 5 "nothing to undo" "$phytoflow" validate "$run" --undo 3 --author "Jane Doe" --store "$store"
expect_exit 4 "history of a particle the sample lacks" "$phytoflow" history "$run" 5000 --store "$store"
expect_exit 3 "a malformed --particles" "$phytoflow" validate "$run" --particles 1-x --label Bacillariophyceae --author "Jane Doe" --store "$store"
expect_exit 3 "--particles without --label or --dubious" "$phytoflow" validate "$run" --particles 1 --author "Jane Doe" --store "$store"
expect_exit 2 "--undo with --particles" "$phytoflow" validate "$run" --undo 1 --particles 1 --store "$store"
check "still 5 validated" test "$(validated_count)" = 5

# --- The archive publishes a validated occurrence with its validator.
expect_exit 0 "export dwca" "$phytoflow" export dwca "$run" --out "$work/dwca.zip" --dataset "$dataset" --store "$store"
check "a ValidatedByHuman occurrence names Jane Doe" tsv_check "$work/dwca.zip" occurrence.txt \
  "any(r['identificationVerificationStatus']=='ValidatedByHuman' and r['identifiedBy']=='Jane Doe' and r['scientificName']=='Bacillariophyceae' for r in rows)"

# --- Four processes validate particle 3 at once: all kept, one winner that everyone sees.
pids=()
for writer in 1 2 3 4; do
  "$phytoflow" validate "$run" --particles 3 --label Dinophyceae --author "writer $writer" \
    --store "$store" --json >"$work/concurrent-$writer.json" 2>"$work/concurrent-$writer.err" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid"
  check "a concurrent validate succeeds (exit $?)" test $? -eq 0
done
expect_exit 0 "history of particle 3" "$phytoflow" history "$run" 3 --store "$store" --json
check "four events with distinct sequences; the highest one's author is the validator" "$python" - "$work/out" "$work"/concurrent-*.json <<'PY'
import json, sys
history = json.load(open(sys.argv[1]))
written = [json.load(open(path))["events"][0] for path in sys.argv[2:]]
sequences = sorted(e["sequence"] for e in written)
events = [e for e in history["history"] if e["source"] == "expert"]
newest = max(written, key=lambda e: e["sequence"])
ok = (len(set(sequences)) == 4 and [e["sequence"] for e in events] == sequences
      and history["label"]["identified_by"] == newest["author"] and history["label"]["name"] == "Dinophyceae")
sys.exit(0 if ok else 1)
PY

# --- --accept: each particle keeps the class it counts as now (5 and 6: validated
# Bacillariophyceae above; 3: the concurrent winner, Dinophyceae). Particle 20 has no class (no
# model ran, its .cla label does not count): the batch is refused and nothing is written.
expert_events() {  # the number of expert events of particle $1, on stdout
  "$phytoflow" history "$run" "$1" --store "$store" --json |
    "$python" -c "import json,sys; print(sum(e['source']=='expert' for e in json.load(sys.stdin)['history']))"
}
before=$(expert_events 5)
expect_exit 3 "--accept with a particle without a class" "$phytoflow" validate "$run" --particles 5,20 \
  --accept --author "Ann Accept" --store "$store"
check "the refused batch wrote nothing (particle 5 has $before expert events)" \
  test "$(expert_events 5)" = "$before"
expect_exit 2 "--accept with --label" "$phytoflow" validate "$run" --particles 5 --accept \
  --label Bacillariophyceae --store "$store"
expect_exit 0 "--accept" "$phytoflow" validate "$run" --particles 3,5-6 --accept \
  --author "Ann Accept" --store "$store" --json
check "accepted: each particle's current class, by the new author" json_check "$work/out" \
  "[(e['particle_number'],e['name'],e['author'],e['kind']) for e in j['events']]==[(3,'Dinophyceae','Ann Accept','validate'),(5,'Bacillariophyceae','Ann Accept','validate'),(6,'Bacillariophyceae','Ann Accept','validate')]"

finish
