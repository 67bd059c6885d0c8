#!/usr/bin/env bash
# Checks the layer rules of docs/architecture.md: third-party headers stay inside the adapters
# that own them, no header of ours exposes one, and core includes only the standard library.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
report() { echo "layering: $*"; fail=1; }

# No third-party header in any of our headers (the CLI composition root may use CLI11/json).
while IFS= read -r line; do
  report "third-party include in a header: $line"
done < <(grep -nE '#include [<"](torch/|sqlite3\.h|mongoc|bson|tiffio\.h|httplib\.h|nlohmann/|zip\.h|opencv2/)' \
           $(find src/phytoflow -name '*.h' -not -path 'src/phytoflow/cli/*') || true)

# Each library is included only by the adapter that owns it.
check_owner() {  # pattern, allowed path prefix
  while IFS= read -r line; do
    report "$1 used outside $2: $line"
  done < <(grep -rnE "#include [<\"]$1" src/phytoflow --include='*.cpp' | grep -v "^$2" || true)
}
check_owner 'sqlite3\.h' 'src/phytoflow/storage/sqlite/'
check_owner 'tiffio\.h' 'src/phytoflow/imaging/'
check_owner 'opencv2/' 'src/phytoflow/imaging/'
check_owner 'zip\.h' 'src/phytoflow/reader/export_source.cpp'
check_owner 'mongoc' 'src/phytoflow/storage/mongo/'

# core depends on nothing but the standard library and itself.
while IFS= read -r line; do
  report "core includes something outside core: $line"
done < <(grep -rnE '#include "' src/phytoflow/core | grep -v '#include "phytoflow/core/' || true)

# Layers only point down: nothing below app includes app, cli or http.
while IFS= read -r line; do
  report "a lower layer includes an upper one: $line"
done < <(grep -rnE '#include "phytoflow/(app|cli|http)/' src/phytoflow/{core,imaging,reader,storage} || true)

if [[ $fail -eq 0 ]]; then
  echo "layering: ok"
fi
exit $fail
