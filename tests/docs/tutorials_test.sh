#!/usr/bin/env bash
# Runs every command of the handbook's tutorials (docs/tutorials/*.md) against the built binary
# and checks the output they show, so that the tutorials cannot go stale. The conventions
# (which blocks run, which output lines must match) are in tests/docs/run_tutorials.py.
#   tests/docs/tutorials_test.sh PATH/TO/phytoflow [TUTORIAL.md...]
#
# The commands run as a reader runs them, from the root of a checkout: a temporary folder that
# links every top-level entry of this checkout except build/ (so examples/, models/, tests/tools/
# are there and what the tutorials write lands in a fresh build/), beside a link to ../shared.
set -euo pipefail
phytoflow=$(realpath "$1")
shift
cd "$(dirname "$0")/../.."
repo=$PWD
tutorials=("$@")
if ((${#tutorials[@]} == 0)); then
  tutorials=(docs/tutorials/*.md)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/checkout" "$work/checkout/build"
for entry in "$repo"/*; do
  if [[ $(basename "$entry") != build ]]; then
    ln -s "$entry" "$work/checkout/"
  fi
done
ln -s "$(realpath ../shared)" "$work/shared"
unset PHYTOFLOW_MODEL PHYTOFLOW_STORE PHYTOFLOW_CONFIG
# LibTorch's OpenMP threads spin while they wait; when ctest runs other tests beside this one on
# 2 cores, spinning made tutorial 2's training 7 times slower (160 s against 23 s, same result).
export OMP_WAIT_POLICY=PASSIVE

runner=(/usr/bin/python3 tests/docs/run_tutorials.py --phytoflow "$phytoflow" --workdir "$work/checkout")

# First the checker itself, on small tutorials whose outcome is known: one that must pass
# (spaces, elided output, stderr, an expected exit code, numbers and model hashes that vary,
# shell state kept between blocks) and three that must fail.
cat >"$work/good.md" <<'MD'
<!-- test -->
```console
$ greeting="a    b"; echo "$greeting"; echo oops >&2
a b
oops
$ printf 'x\ny\nz\n'
x
…
z
```
<!-- test: exit=3 -->
```console
$ echo "$greeting" && exit_with() { return "$1"; } && exit_with 3
a b
```
<!-- test: numbers-vary vary="took" -->
```console
$ echo "top-1 91.20 % my-model-0123456789ab"; echo "took 12 s"
top-1 84.67 % my-model-abcdefabcdef
took forever
```
MD
printf '<!-- test -->\n```console\n$ echo 1\n2\n```\n' >"$work/wrong-output.md"
printf '<!-- test: exit=2 -->\n```console\n$ true\n```\n' >"$work/wrong-exit.md"
printf '<!-- test -->\n```console\n$ printf "b\\na\\n"\na\nb\n```\n' >"$work/wrong-order.md"
"${runner[@]}" "$work/good.md" >"$work/check.log" 2>&1 || {
  cat "$work/check.log"
  echo "FAIL: the tutorial checker rejects a correct tutorial"
  exit 1
}
for bad in wrong-output wrong-exit wrong-order; do
  if "${runner[@]}" "$work/$bad.md" >"$work/check.log" 2>&1; then
    cat "$work/check.log"
    echo "FAIL: the tutorial checker accepts $bad.md"
    exit 1
  fi
done

"${runner[@]}" "${tutorials[@]}"
