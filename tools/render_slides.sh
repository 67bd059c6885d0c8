#!/usr/bin/env bash
# Renders the workshop slides (docs/workshop/slides.md, Marp Markdown) to PDF with marp-cli
# (pinned in docs/workshop/package-lock.json, installed by scripts/setup) and Debian's Chromium.
# Never downloads a browser.
#   tools/render_slides.sh [OUT.pdf]        default: build/workshop/phytoflow-workshop.pdf
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/workshop/phytoflow-workshop.pdf}
marp=docs/workshop/node_modules/.bin/marp
if [[ ! -x $marp ]]; then
  echo "render_slides: $marp not found: run scripts/setup (npm ci in docs/workshop)" >&2
  exit 1
fi
chromium=${CHROME_PATH:-/usr/bin/chromium}
if [[ ! -x $chromium ]]; then
  echo "render_slides: no Chromium at $chromium: install Debian's chromium (or set CHROME_PATH)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
# --no-sandbox: Chromium's sandbox needs user namespaces, which containers and CI runners often
# lack. The slides are our own Markdown, rendered offline, so the sandbox protects nothing here.
export CHROME_PATH=$chromium
export CHROME_NO_SANDBOX=1
export PUPPETEER_SKIP_DOWNLOAD=1
"$marp" --no-stdin --pdf --allow-local-files --html \
  --browser chrome --browser-timeout 120 \
  --output "$out" docs/workshop/slides.md
echo "render_slides: wrote $out ($(du -h "$out" | cut -f1))"
