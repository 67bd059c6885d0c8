#!/usr/bin/env bash
# Fails when docs/reference/rest-api.md differs from what tools/gen_api_reference.py writes from
# the OpenAPI document, so the REST API reference cannot drift from the routes (the OpenAPI
# document itself is checked against the route table by server/server_test).
#   tests/docs/api_reference_test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
/usr/bin/python3 tools/gen_api_reference.py src/phytoflow/server/openapi.json "$fresh"
if ! diff -u docs/reference/rest-api.md "$fresh"; then
  echo "FAIL: docs/reference/rest-api.md is not what openapi.json says (diff above: - committed, + fresh)."
  echo "Regenerate it with: tools/gen_api_reference.py"
  exit 1
fi
echo "docs/reference/rest-api.md matches openapi.json"
