#!/usr/bin/env bash
# Every relative link of the handbook and the READMEs points at a file that exists and, with an
# #anchor, at one of its headings (tests/docs/check_links.py).
#   tests/docs/links_test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t pages < <(find docs -name '*.md' -not -path '*/node_modules/*' | sort)
/usr/bin/python3 tests/docs/check_links.py README.md CONTRIBUTING.md models/README.md \
  src/phytoflow/README.md "${pages[@]}"
