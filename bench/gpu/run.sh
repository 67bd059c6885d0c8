#!/usr/bin/env bash
# GPU check, run on a machine with an NVIDIA GPU and a PyTorch 2.x install (not in CI):
# compiles every LibTorch source of classify/torch against that PyTorch's LibTorch (proving the
# code builds beyond Debian's 1.13), then measures network inference and training throughput on
# CUDA and on 2 CPU threads. Header-only dependencies that machine may lack (nlohmann-json,
# GoogleTest, Google Benchmark) are expected in .devcarry/include: bench/gpu/prepare.sh copies
# them there from this machine. Results go to $OUT/gpu_throughput.txt (or stdout).
set -uo pipefail
cd "$(dirname "$0")/../.."
nvidia-smi -L; g++ --version | head -1; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
flags="-std=c++20 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wno-missing-field-initializers -D_GLIBCXX_USE_CXX11_ABI=$abi
  -Isrc -Itests -isystem .devcarry/include -isystem $torch_dir/include -isystem $torch_dir/include/torch/csrc/api/include"
objects=/tmp/phytoflow-gpu
mkdir -p "$objects"
fail=0
for source in src/phytoflow/classify/torch/networks.cpp src/phytoflow/classify/torch/torch_model.cpp \
              src/phytoflow/classify/torch/train.cpp src/phytoflow/classify/torch/torch_model_test.cpp \
              bench/classifier_bench.cpp src/phytoflow/core/error.cpp bench/gpu/gpu_throughput.cpp; do
  object="$objects/$(basename "$source").o"
  (g++ $flags -c "$source" -o "$object" >"$object.log" 2>&1 && echo "compiled $source" ||
     { echo "FAILED $source"; head -60 "$object.log"; exit 1; }) &
done
for job in $(jobs -p); do wait "$job" || fail=1; done
g++ "$objects"/gpu_throughput.cpp.o "$objects"/networks.cpp.o "$objects"/error.cpp.o -o "$objects/gpu_throughput" \
  -L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed -ltorch -ltorch_cuda -ltorch_cpu -lc10_cuda -lc10 \
  -pthread || exit 1
"$objects/gpu_throughput" 2>&1 | tee "${OUT:-/dev/null}/gpu_throughput.txt"
exit $fail
