#!/usr/bin/env bash
# End-to-end checks of train, evaluate, predict and classify on a small slice of real FlowCam
# vignettes (flowcam_vicko_3class, MIT) and the bundled example run.
#   tests/cli/classifier_cli_test.sh PATH/TO/phytoflow
set -uo pipefail
phytoflow=$(realpath "$1")
cd "$(dirname "$0")/../.."
labelled=$(realpath ../shared/data/labeled/flowcam_vicko_3class)
run_dir=examples/vicko_pygsuia_2025/7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025
sample=$(basename "$run_dir")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=/usr/bin/python3

passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
expect_exit() {
  local code=$1 what=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  check "$what (exit $got, expected $code: $(tail -c 400 "$work/err"))" test "$got" -eq "$code"
}
json_check() { "$python" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }

# A small slice: 40 images per class, as a labels.csv with paths relative to it.
mkdir -p "$work/slice"
"$python" - "$labelled" "$work/slice/labels.csv" <<'PY'
import csv, os, sys
root, out = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(os.path.join(root, "labels.csv"))))
taken = {}
with open(out, "w") as f:
    f.write("path,label\n")
    for row in rows:
        if taken.get(row["label"], 0) < 40:
            taken[row["label"]] = taken.get(row["label"], 0) + 1
            f.write(os.path.relpath(os.path.join(root, row["path"]), os.path.dirname(out)) + "," + row["label"] + "\n")
PY
model="$work/model.pt"
expect_exit 0 "train" "$phytoflow" train --data "$work/slice/labels.csv" --out "$model" --name cli-test \
  --arch mobilenet --image-size 32 --epochs 3 --patience 3 --context size --pixel-size-um 0.5544 --json
check "train JSON" json_check "$work/out" \
  "j['model_id'].startswith('cli-test-') and j['epochs_run']>=1 and 0<=j['macro_f1']<=1 and j['temperature']>0"
check "model file written" test -s "$model"

expect_exit 0 "evaluate" "$phytoflow" evaluate --model "$model" --data "$work/slice/labels.csv" \
  --pixel-size-um 0.5544 --json --report "$work/report"
check "evaluate JSON keys" json_check "$work/out" \
  "all(k in j for k in ['top1','top5','macro_f1','balanced_accuracy','per_class']) and j['items']==120 and len(j['per_class'])==3 and j['top5']==1.0"
check "evaluate report files" test -s "$work/report/confusion.csv" -a -s "$work/report/confusion.svg" -a -s "$work/report/metrics.json"

first=$(ls "$labelled/Protist" | head -n 1)
expect_exit 0 "predict" "$phytoflow" predict --model "$model" --top-k 2 --tta --json "$labelled/Protist/$first" "$labelled/Junk/$(ls "$labelled/Junk" | head -n 1)"
check "predict JSON" json_check "$work/out" \
  "len(j)==2 and all(len(p['top_k'])==2 and p['label'] in ('Junk','Missed','Protist','uncertain') and 0<=p['probability']<=1 for p in j)"

# classify a stored sample: predictions are stored, expert labels are not touched, and
# classifying again replaces the model's predictions instead of adding to them.
store="$work/store.db"
expect_exit 0 "ingest example" "$phytoflow" ingest "$run_dir" --store "$store"
expect_exit 0 "an expert validates particle 1" \
  "$phytoflow" validate "$sample" --particles 1 --label Protist --author tester --store "$store"
for round in 1 2; do
  expect_exit 0 "classify (round $round)" "$phytoflow" classify "$sample" --model "$model" --store "$store" --json
  check "classify JSON (round $round)" json_check "$work/out" \
    "j['particles']==1000 and j['classified']+j['uncertain']==1000 and sum(j['counts'].values())==1000"
done
expect_exit 0 "show after classify" "$phytoflow" show "$sample" --store "$store" --json
check "predictions stored once, expert label kept" json_check "$work/out" \
  "[l['labelled'] for l in j['labels'] if l['source']=='model']==[1000] and [l['classes'] for l in j['labels'] if l['source']=='expert']==[{'Protist':1}]"
check "top-k stored with predictions" test "$(sqlite3 "$store" "SELECT COUNT(*) FROM labels WHERE source='model' AND top_k LIKE '[[%'")" -eq 1000

# Without --model, classify uses the bundled default model.
expect_exit 0 "classify with the default model" "$phytoflow" classify "$sample" --store "$store" --json
check "the default model classified every particle" json_check "$work/out" \
  "j['model_id'].startswith('phytoflow-flowcam-default-') and j['classified']+j['uncertain']==1000 and j['counts'].get('Junk',0)>j['counts'].get('Protist',0)"

expect_exit 4 "classify an unknown sample" "$phytoflow" classify no-such-sample --model "$model" --store "$store"
expect_exit 4 "a missing model" "$phytoflow" predict --model "$work/none.pt" "$labelled/Protist/$first"
echo "not a model" >"$work/bad.pt"
expect_exit 3 "a file that is not a model" "$phytoflow" predict --model "$work/bad.pt" "$labelled/Protist/$first"

echo "$passed passed, $failed failed"
test "$failed" -eq 0
