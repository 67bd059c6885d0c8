// Device check: network inference and training throughput on CUDA and on 2 CPU
// threads, with the LibTorch of the PyTorch install there.
#include "phytoflow/classify/torch/networks.h"

#include <chrono>
#include <cstdio>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

namespace pf = phytoflow;

static void Sync(const torch::Device& device) {
  if (device.is_cuda())
    torch::cuda::synchronize();
}

int main() {
  std::printf("torch %s cuda %d\n", TORCH_VERSION, static_cast<int>(torch::cuda::is_available()));
  const char* archs[] = {
      "mobilenet", "resnet", "mobilenet:width=2,depth=2", "resnet:width=64,depth=2"};
  for (const bool cuda : {true, false}) {
    if (cuda && !torch::cuda::is_available())
      continue;
    const torch::Device device(cuda ? torch::kCUDA : torch::kCPU);
    if (!cuda)
      at::set_num_threads(2);
    if (cuda)
      at::globalContext().setBenchmarkCuDNN(true);
    for (const char* arch : archs) {
      for (const int64_t batch : {int64_t{64}, int64_t{256}}) {
        if (!cuda && batch != 64)
          continue;
        torch::manual_seed(1);
        pf::ClassifierNet net(pf::ParseArchitecture(arch), 3, 16, 121);
        net->to(device);
        if (!cuda)
          pf::ToChannelsLast(*net);
        torch::Tensor x = torch::randn({batch, 3, 64, 64}, device);
        if (!cuda)
          x = x.contiguous(torch::MemoryFormat::ChannelsLast);
        const torch::Tensor c = torch::randn({batch, 16}, device);
        const torch::Tensor y = torch::randint(
            0, 121, {batch}, torch::TensorOptions().dtype(torch::kInt64).device(device));
        const int reps = cuda ? 50 : 8;
        double infer = 0;
        {
          net->eval();
          c10::InferenceMode guard;
          for (int i = 0; i < 5; ++i)
            net->forward(x, c);
          Sync(device);
          const auto t0 = std::chrono::steady_clock::now();
          for (int i = 0; i < reps; ++i)
            net->forward(x, c);
          Sync(device);
          infer = reps * batch /
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        net->train();
        torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(1e-3));
        const auto step = [&] {
          opt.zero_grad();
          torch::nn::functional::cross_entropy(net->forward(x, c), y).backward();
          opt.step();
        };
        for (int i = 0; i < 3; ++i)
          step();
        Sync(device);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps / 2; ++i)
          step();
        Sync(device);
        const double train =
            (reps / 2) * batch /
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%s %-48s batch %3ld  inference %9.0f img/s  training %8.0f img/s\n",
                    cuda ? "cuda" : "cpu2",
                    pf::ParseArchitecture(arch).Canonical().c_str(),
                    static_cast<long>(batch),
                    infer,
                    train);
        std::fflush(stdout);
      }
    }
  }
}
