#!/usr/bin/env bash
# Copies the header-only libraries bench/gpu/run.sh needs into .devcarry/include (git-ignored),
# for a GPU machine that has PyTorch but not these Debian packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .devcarry/include
cp -r /usr/include/nlohmann /usr/include/gtest /usr/include/benchmark .devcarry/include/
