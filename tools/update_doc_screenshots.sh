#!/usr/bin/env bash
# Refreshes the web UI's screenshots in the handbook (docs/images/web/) from the web UI's
# end-to-end test, so that the pictures in the docs are what the tested UI shows: runs
# tests/web/run.sh (real server, headless Chromium), then copies its PNGs, each scaled down to
# 1000 px wide when it is over 300 KB (and to 256 colours if that is not enough).
#   tools/update_doc_screenshots.sh PATH/TO/phytoflow [--no-run]
# --no-run copies the screenshots of the last run (build/test-artifacts/web) without a new one.
set -euo pipefail
phytoflow=$(realpath "$1")
cd "$(dirname "$0")/.."
artifacts=build/test-artifacts/web
if [[ "${2:-}" != --no-run ]]; then
  PHYTOFLOW_WEB_ARTIFACTS="$PWD/$artifacts" tests/web/run.sh "$phytoflow"
fi
mkdir -p docs/images/web
/usr/bin/python3 - "$artifacts" docs/images/web <<'PY'
import os, shutil, sys
from PIL import Image

source, target = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(source) if n.endswith(".png"))
if not names:
    sys.exit(f"no screenshots in {source}")
for name in names:
    src, dst = os.path.join(source, name), os.path.join(target, name)
    if os.path.getsize(src) > 300_000:
        with Image.open(src) as image:
            if image.width > 1000:
                height = round(image.height * 1000 / image.width)
                image = image.resize((1000, height), Image.LANCZOS)
            image.save(dst, optimize=True)
        if os.path.getsize(dst) > 300_000:
            with Image.open(dst) as image:
                image.convert("RGB").quantize(256).save(dst, optimize=True)
    else:
        shutil.copyfile(src, dst)
    print(f"{dst}: {os.path.getsize(dst) // 1024} KB")
PY
