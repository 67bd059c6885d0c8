#!/usr/bin/env bash
# Fails when docs/reference/cli.md differs from what tools/gen_cli_reference.py writes from the
# built binary's --help, so the CLI reference cannot drift from the commands.
#   tests/docs/cli_reference_test.sh PATH/TO/phytoflow
set -euo pipefail
phytoflow=$(realpath "$1")
cd "$(dirname "$0")/../.."
fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
/usr/bin/python3 tools/gen_cli_reference.py "$phytoflow" "$fresh"
if ! diff -u docs/reference/cli.md "$fresh"; then
  echo "FAIL: docs/reference/cli.md is not what the binary's --help says (diff above: - committed, + binary)."
  echo "Regenerate it with: tools/gen_cli_reference.py $phytoflow docs/reference/cli.md"
  exit 1
fi
echo "docs/reference/cli.md matches --help"
