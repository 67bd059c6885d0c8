#!/usr/bin/env bash
# Checks the layer rules of docs/architecture.md: third-party headers stay inside the adapters
# that own them, no header of ours exposes one, and core includes only the standard library.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
report() { echo "layering: $*"; fail=1; }

# No third-party header in any of our headers (the CLI composition root may use CLI11/json).
# The LibTorch adapter's private headers (networks.h, torch_support.h: included only by its own
# .cpp files, test and benchmark) may include LibTorch; its public torch_model.h may not. Likewise
# the MongoDB adapter's private mongo_support.h may include libmongoc, and the server's private
# json_views.h and routes.h (included only by server/*.cpp and cli/) nlohmann/json.
while IFS= read -r line; do
  report "third-party include in a header: $line"
done < <(grep -nE '#include [<"](torch/|sqlite3\.h|mongoc|bson|tiffio\.h|httplib\.h|nlohmann/|zip\.h|zlib\.h|opencv2/)' \
           $(find src/phytoflow -name '*.h' -not -path 'src/phytoflow/cli/*') |
         grep -vE '^src/phytoflow/classify/torch/(networks|torch_support)\.h:[0-9]+:#include <torch/' |
         grep -vE '^src/phytoflow/storage/mongo/mongo_support\.h:[0-9]+:#include <(mongoc|bson)/' |
         grep -vE '^src/phytoflow/server/(json_views|routes)\.h:[0-9]+:#include <nlohmann/' || true)

# Each library is included only by the adapter that owns it.
check_owner() {  # pattern, allowed path prefix
  while IFS= read -r line; do
    report "$1 used outside $2: $line"
  done < <(grep -rnE "#include [<\"]$1" src/phytoflow --include='*.cpp' | grep -vE "^$2" || true)
}
check_owner 'sqlite3\.h' 'src/phytoflow/storage/sqlite/'
check_owner 'tiffio\.h' 'src/phytoflow/imaging/'
check_owner 'opencv2/' 'src/phytoflow/imaging/'
check_owner 'zip\.h' 'src/phytoflow/(reader/export_source|products/zip_archive)\.cpp'
check_owner 'zlib\.h' 'src/phytoflow/imaging/'
check_owner 'mongoc' 'src/phytoflow/storage/mongo/'
check_owner 'torch/' 'src/phytoflow/classify/torch/'
check_owner 'ATen/' 'src/phytoflow/classify/torch/'
check_owner 'httplib\.h' 'src/phytoflow/server/'
check_owner 'openssl/' 'src/phytoflow/server/accounts\.cpp'

# Layers only point down: each layer includes only the layers listed for it
# (docs/architecture.md). Sub-folders of a layer (storage/sqlite) belong to it.
declare -A allowed=(
  [core]="core"
  [imaging]="core imaging"
  [reader]="core imaging reader"
  [classify]="core imaging classify"
  [storage]="core storage"
  [products]="core products"
  [app]="core imaging reader classify storage products app"
  [server]="core imaging reader classify storage products app server"
  [cli]="core imaging reader classify storage products app server cli"
)
for layer in "${!allowed[@]}"; do
  while IFS= read -r line; do
    included=$(sed -E 's|.*#include "phytoflow/([a-z_]+)/.*|\1|' <<<"${line#*:*:}")
    if [[ " ${allowed[$layer]} " != *" $included "* ]]; then
      report "$layer may not include $included: $line"
    fi
  done < <(grep -rnE '#include "phytoflow/' "src/phytoflow/$layer" || true)
done

if [[ $fail -eq 0 ]]; then
  echo "layering: ok"
fi
exit $fail
