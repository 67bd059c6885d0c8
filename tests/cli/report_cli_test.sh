#!/usr/bin/env bash
# End-to-end checks of `phytoflow report` and `phytoflow taxonomy` on the bundled example: JSON
# keys, counts that add up, cells per litre = cells / seawater litres, corrected abundances from
# the default model's confusion matrix, CSV, and taxonomy errors with file:line.
#   tests/cli/report_cli_test.sh PATH/TO/phytoflow
# Without LibTorch, `classify` exits 6 and the report checks run on the unlabelled sample.
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"

expect_exit 0 "ingest" "$phytoflow" ingest "$run_dir" --store "$store"

# Before any classification: every particle is unlabelled, no taxon, totals still add up.
expect_exit 0 "report of an unclassified sample" "$phytoflow" report "$run" --store "$store" --json
check "unclassified: no taxa, 1000 unlabelled particles" json_check "$work/out" \
  "j['taxa']==[] and j['label_counts']['unlabelled']==1000 and j['totals']['all']['count']==1000 and j['model_id'] is None"

"$phytoflow" classify "$run" --store "$store" >"$work/classify.out" 2>"$work/classify.err"
classify_rc=$?
check "classify succeeds, or is unavailable without LibTorch (exit $classify_rc)" \
  test "$classify_rc" -eq 0 -o "$classify_rc" -eq 6

expect_exit 0 "report --json" "$phytoflow" report "$run" --store "$store" --json
cp "$work/out" "$work/report.json"
check "report JSON keys" json_check "$work/report.json" \
  "all(k in j for k in ['sample_id','volume_imaged_ml','taxa','totals','shares','size_classes','model_id','taxonomy_version','warnings'])"
check "report JSON values" json_check "$work/report.json" \
  "j['sample_id']=='$run' and j['volume_imaged_ml']==0.1418 and j['seawater_litres']==0.1418/1000 and j['taxonomy_version']=='2026.11.1'"
check "taxon keys" json_check "$work/report.json" \
  "all(all(k in t for k in ['name','aphia_id','scientific_name','lifeform','living','count','cells','cells_per_l','biovolume_um3_per_l','biovolume_esd_um3_per_l','carbon_ug_per_l','validated','predicted','uncertain','mean_probability','adjusted_cells_per_l']) for t in j['taxa'])"
# Per-taxon counts add up to the particles (unlabelled ones are in no taxon).
check "taxon counts sum to the particle total" json_check "$work/report.json" \
  "sum(t['count'] for t in j['taxa']) + j['label_counts']['unlabelled'] == j['totals']['all']['count'] == 1000"
check "validated + predicted + uncertain = count per taxon" json_check "$work/report.json" \
  "all(t['validated']+t['predicted']+t['uncertain']==t['count'] for t in j['taxa'])"
# cells/L = cells / (0.1418 mL / 1000 × K / D), with D = K = 1 here.
check "cells_per_l = cells / seawater litres" json_check "$work/report.json" \
  "all(abs(t['cells_per_l'] - t['cells']/(0.1418e-3)) <= 1e-9*max(1,t['cells_per_l']) for t in j['taxa']) and abs(j['totals']['all']['cells_per_l'] - j['totals']['all']['cells']/0.1418e-3) < 1e-6"
check "cells >= count (chains count every cell)" json_check "$work/report.json" \
  "all(t['cells']>=t['count'] for t in j['taxa']) and j['totals']['all']['cells']>=1000"
check "size classes hold every particle with an ESD" json_check "$work/report.json" \
  "len(j['size_classes'])==11 and sum(c['all']['count'] for c in j['size_classes'])==1000 and j['size_classes'][-1]['esd_max_um'] is None"
check "non-living taxa have no carbon" json_check "$work/report.json" \
  "all(t['carbon_ug_per_l']==0 for t in j['taxa'] if t['living'] is False)"

if [[ $classify_rc -eq 0 ]]; then
  model_id=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['model_id'])" "$work/report.json")
  check "the default model's predictions are counted" test "${model_id#phytoflow-flowcam-default-}" != "$model_id"
  check "every particle is labelled after classify" json_check "$work/report.json" \
    "j['label_counts']['unlabelled']==0 and j['label_counts']['predicted']+j['label_counts']['uncertain']==1000"
  check "Junk is known, non-living, without AphiaID" json_check "$work/report.json" \
    "any(t['name']=='Junk' and t['living'] is False and t['aphia_id'] is None for t in j['taxa'])"
  # The default model's validation confusion matrix corrects every model class.
  check "corrected abundances with an interval for model classes" json_check "$work/report.json" \
    "all((t['adjusted_cells_per_l'] is None) == (t['name']=='uncertain') for t in j['taxa']) and all(a['lower']<=a['estimate']<=a['upper'] and a['level']==0.95 for a in (t['adjusted_cells_per_l'] for t in j['taxa']) if a)"
  # --validated-only ignores the predictions.
  expect_exit 0 "report --validated-only" "$phytoflow" report "$run" --store "$store" --json --validated-only
  check "--validated-only counts no prediction" json_check "$work/out" \
    "j['taxa']==[] and j['label_counts']['unlabelled']==1000 and j['model_id'] is None"
  # The carbon switch only lowers diatom carbon (or leaves it).
  expect_exit 0 "report --carbon switch" "$phytoflow" report "$run" --store "$store" --json --carbon switch
  check "switch keeps non-diatom carbon" "$python" - "$work/report.json" "$work/out" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ca = {t['name']: t['carbon_ug_per_l'] for t in a['taxa']}
ok = all(t['carbon_ug_per_l'] <= ca[t['name']] + 1e-12 and (t['lifeform'] == 'diatom' or t['carbon_ug_per_l'] == ca[t['name']]) for t in b['taxa'])
sys.exit(0 if ok and b['carbon_equation'] == 'switch' else 1)
PY
  # A model file without a confusion matrix of its own: said in the warnings, nothing corrected.
  cp models/phytoflow-flowcam-default.pt "$work/copy.pt"
  expect_exit 0 "report --model without a confusion matrix" "$phytoflow" report "$run" --store "$store" --json --model "$work/copy.pt"
  check "no confusion matrix: warning, no correction" json_check "$work/out" \
    "all(t['adjusted_cells_per_l'] is None for t in j['taxa']) and any('no validation confusion matrix' in w for w in j['warnings'])"
fi

# CSV: a header and one row per taxon.
expect_exit 0 "report --csv" "$phytoflow" report "$run" --store "$store" --csv
check "CSV rows" "$python" - "$work/out" "$work/report.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
report = json.load(open(sys.argv[2]))
ok = len(rows) == len(report['taxa']) and all(r['sample_id'] == report['sample_id'] for r in rows)
ok = ok and [r['name'] for r in rows] == [t['name'] for t in report['taxa']]
ok = ok and all(int(r['count']) == t['count'] for r, t in zip(rows, report['taxa']))
sys.exit(0 if ok else 1)
PY
expect_exit 0 "report --all --json" "$phytoflow" report --all --store "$store" --json
check "--all gives an array" json_check "$work/out" "isinstance(j,list) and len(j)==1 and j[0]['sample_id']=='$run'"
expect_exit 0 "report (table)" "$phytoflow" report "$run" --store "$store"
check "table has the totals" grep -q "all particles" "$work/out"
expect_exit 4 "report of an unknown sample" "$phytoflow" report no-such-sample --store "$store"
expect_exit 3 "report without SAMPLE or --all" "$phytoflow" report --store "$store"
expect_exit 2 "bad --carbon" "$phytoflow" report "$run" --store "$store" --carbon some

# taxonomy show and check.
expect_exit 0 "taxonomy show --tsv" "$phytoflow" taxonomy show --tsv
cp "$work/out" "$work/taxonomy.tsv"
check "show --tsv is the built-in table" cmp -s "$work/taxonomy.tsv" taxonomy/phytoflow-taxonomy.tsv
expect_exit 0 "taxonomy check of the built-in table" "$phytoflow" taxonomy check "$work/taxonomy.tsv"
expect_exit 0 "taxonomy show" "$phytoflow" taxonomy show
check "show lists Guinardia delicatula" grep -q "Guinardia_delicatula *149112" "$work/out"
sed '5s/\t148985\t/\t14898x\t/' "$work/taxonomy.tsv" >"$work/bad.tsv"
expect_exit 3 "taxonomy check of a malformed file" "$phytoflow" taxonomy check "$work/bad.tsv"
check "malformed taxonomy names file, line and column" grep -q "bad.tsv:5: aphia_id: expected a positive integer" "$work/err"
expect_exit 3 "report with a malformed taxonomy" "$phytoflow" report "$run" --store "$store" --taxonomy "$work/bad.tsv"
expect_exit 4 "taxonomy check of a missing file" "$phytoflow" taxonomy check "$work/none.tsv"
if [[ $classify_rc -eq 0 ]]; then
  expect_exit 0 "taxonomy check --model" "$phytoflow" taxonomy check "$work/taxonomy.tsv" --model models/phytoflow-flowcam-default.pt
  grep -v -E '^(Protist|Tripos)\b' "$work/taxonomy.tsv" >"$work/partial.tsv"
  expect_exit 3 "taxonomy check --model with unknown classes" "$phytoflow" taxonomy check "$work/partial.tsv" --model models/phytoflow-flowcam-default.pt
  check "unknown model classes are listed" grep -q "2 classes not in taxonomy 2026.11.1: Protist, Tripos" "$work/err"
fi

finish
