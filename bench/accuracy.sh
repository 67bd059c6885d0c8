#!/usr/bin/env bash
# Accuracy benchmarks of the classifier on the labelled sets in ../shared/data/labeled. Each
# case trains from scratch and scores images the training never saw (a stratified, seeded
# split, or k folds), appending top-1, top-5, macro-F1, balanced accuracy, ECE and the training
# time as a JSON line to build/accuracy/results.jsonl. Long: NDSB takes tens of minutes per
# model on 2 cores.
#   bench/accuracy.sh ndsb [size|none]     121 classes, 24,265 images, 20 % held out
#   bench/accuracy.sh vicko [size|none]    FlowCam Junk/Missed/Protist, 20 % held out
#   bench/accuracy.sh vliz-kfold           FlowCam 6 taxa, 105 images, 5-fold x 2 repeats
# Extra arguments after the context go to `phytoflow train` (e.g. --epochs 30 --arch resnet).
set -euo pipefail
cd "$(dirname "$0")/.."
phytoflow=${PHYTOFLOW:-build/release/src/phytoflow/cli/phytoflow}
[[ -x "$phytoflow" ]] || { cmake --preset release >/dev/null && cmake --build --preset release --target phytoflow; }
case_name=${1:?usage: bench/accuracy.sh ndsb|vicko|vliz-kfold [size|none] [train options]}
context=${2:-size}
shift $(( $# >= 2 ? 2 : 1 ))
out=build/accuracy
mkdir -p "$out"
labelled=../shared/data/labeled

# Writes train.csv and test.csv: a stratified, seeded split of a labels.csv (test_fraction).
split() {  # labels.csv, out folder, test fraction, seed
  /usr/bin/python3 - "$@" <<'PY'
import csv, os, random, sys
source, out, fraction, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
root = os.path.dirname(os.path.abspath(source))
rows = list(csv.DictReader(open(source)))
by_class = {}
for row in rows:
    by_class.setdefault(row["label"], []).append(row)
rng = random.Random(seed)
parts = {"train": [], "test": []}
for label in sorted(by_class):
    items = by_class[label]
    rng.shuffle(items)
    n_test = max(1, round(fraction * len(items))) if len(items) > 1 else 0
    parts["test"] += items[:n_test]
    parts["train"] += items[n_test:]
os.makedirs(out, exist_ok=True)
for name, part in parts.items():
    with open(os.path.join(out, name + ".csv"), "w") as f:
        f.write("path,label\n")
        for r in part:
            f.write(os.path.relpath(os.path.join(root, r["path"]), out) + "," + r["label"] + "\n")
PY
}

# Appends one JSON line: the test metrics of `evaluate` and the training figures of `train`.
record() {  # case, context, train json, evaluate json
  /usr/bin/python3 - "$@" >>"$out/results.jsonl" <<'PY'
import json, sys
case, context, train_path, test_path = sys.argv[1:5]
train, test = json.load(open(train_path)), json.load(open(test_path))
row = {"case": case, "context": context}
row.update({k: test[k] for k in ("top1", "top5", "macro_f1", "balanced_accuracy", "ece", "items")})
row.update({k: train[k] for k in ("best_epoch", "epochs_run", "seconds", "train_images_per_second", "model_id")})
print(json.dumps(row))
PY
  tail -n 1 "$out/results.jsonl"
}

# Trains on train.csv (10 % of it for early stopping and calibration) and scores test.csv.
train_and_test() {  # case, folder with train.csv/test.csv, context, extra train options...
  local name=$1 folder=$2 ctx=$3
  shift 3
  "$phytoflow" train --data "$folder/train.csv" --out "$out/$name-$ctx.pt" --name "$name-$ctx" \
    --context "$ctx" --val-fraction 0.1 --seed 1 --json "$@" >"$out/$name-$ctx.train.json"
  local pixel=()
  [[ "$name" == vicko ]] && pixel=(--pixel-size-um 0.5544)
  "$phytoflow" evaluate --model "$out/$name-$ctx.pt" --data "$folder/test.csv" "${pixel[@]}" --json \
    --report "$out/$name-$ctx.report" >"$out/$name-$ctx.test.json"
  record "$name" "$ctx" "$out/$name-$ctx.train.json" "$out/$name-$ctx.test.json"
}

case "$case_name" in
  ndsb)
    # ISIIS images: pixel size unknown but constant, so the size context is in pixels.
    split "$labelled/ndsb_isiis_121class/labels.csv" "$out/ndsb-split" 0.2 1
    train_and_test ndsb "$out/ndsb-split" "$context" --channels 1 "$@"
    ;;
  vicko)
    split "$labelled/flowcam_vicko_3class/labels.csv" "$out/vicko-split" 0.2 1
    train_and_test vicko "$out/vicko-split" "$context" --pixel-size-um 0.5544 "$@"
    ;;
  vliz-kfold)
    # Stratified 5-fold cross-validation, repeated with two seeds; one model per fold.
    for seed in 1 2; do
      /usr/bin/python3 - "$labelled/flowcam_vliz_demo_6class" "$out/vliz-folds-$seed" "$seed" <<'PY'
import csv, os, random, sys
root, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = list(csv.DictReader(open(os.path.join(root, "labels.csv"))))
by_class = {}
for row in rows:
    by_class.setdefault(row["label"], []).append(row)
rng = random.Random(seed)
folds = [[] for _ in range(5)]
for label in sorted(by_class):
    items = by_class[label]
    rng.shuffle(items)
    for i, row in enumerate(items):
        folds[i % 5].append(row)
os.makedirs(out, exist_ok=True)
for k in range(5):
    for name, part in (("train", [r for i, f in enumerate(folds) if i != k for r in f]), ("val", folds[k])):
        with open(os.path.join(out, f"fold{k}-{name}.csv"), "w") as f:
            f.write("path,label\n")
            for r in part:
                f.write(os.path.relpath(os.path.join(root, r["path"]), out) + "," + r["label"] + "\n")
PY
      for k in 0 1 2 3 4; do
        # Tiny folds: early stopping uses the training part's own 20 %, the fold is only scored.
        # 84 images make 1-2 steps per epoch at the default batch: smaller batches, more epochs.
        "$phytoflow" train --data "$out/vliz-folds-$seed/fold$k-train.csv" --val-fraction 0.2 \
          --out "$out/vliz-$seed-$k.pt" --name "vliz-$seed-$k" --context none --channels 1 --seed "$seed" \
          --batch-size 16 --epochs 80 --patience 40 --json "$@" \
          >"$out/vliz-$seed-$k.train.json"
        "$phytoflow" evaluate --model "$out/vliz-$seed-$k.pt" --data "$out/vliz-folds-$seed/fold$k-val.csv" --json \
          >"$out/vliz-$seed-$k.test.json"
        record "vliz-fold$k-seed$seed" none "$out/vliz-$seed-$k.train.json" "$out/vliz-$seed-$k.test.json"
      done
    done
    ;;
  *)
    echo "unknown case $case_name" >&2
    exit 2
    ;;
esac
