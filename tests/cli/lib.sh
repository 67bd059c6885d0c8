# Shared set-up and checks of the CLI end-to-end tests. Source it first:
#   source "$(dirname "$0")/lib.sh" "$1"     # $1: path of the phytoflow binary
# It sets `phytoflow` (absolute), moves to the repository root, names the bundled example
# (`example`, `run_dir`, `run`), makes `work` (a temporary folder removed on exit) with `store`
# in it, and defines check / expect_exit / json_check, counted by `finish`.
phytoflow=$(realpath "$1")
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
example=examples/vicko_pygsuia_2025
run_dir=$example/7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025
run=$(basename "$run_dir")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store="$work/store.db"
python=/usr/bin/python3
unset PHYTOFLOW_MODEL PHYTOFLOW_STORE

passed=0
failed=0
check() {  # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what"
  fi
}
expect_exit() {  # expected code, description, command...
  local code=$1 what=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  check "$what (exit $got, expected $code: $(head -c 300 "$work/err"))" test "$got" -eq "$code"
}
json_check() {  # file, python expression over `j` that must be true
  "$python" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"
}
finish() {  # prints the tally; fails if any check failed
  echo "$passed passed, $failed failed"
  test "$failed" -eq 0
}
