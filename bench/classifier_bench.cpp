// Classifier throughput on the CPU with 2 threads: the networks alone (images/s at batch 64,
// 64×64, with and without context), the Classifier end to end (preprocessing included), and
// training (one step alone, and TrainModel over an epoch of synthetic vignettes).
//   build/h-torch/bench/classifier_bench --benchmark_filter=Inference

#include "phytoflow/classify/torch/networks.h"
#include "phytoflow/classify/torch/torch_model.h"
#include "phytoflow/classify/torch/torch_support.h"
#include "phytoflow/imaging/png.h"

#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.h"
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

namespace phytoflow::bench {
namespace {

constexpr int kThreads = 2;
constexpr int64_t kClasses = 20;

int64_t BatchSize() {
  return SmokeRun() ? 4 : 64;
}
int ImageSize() {
  return SmokeRun() ? 32 : 64;
}
int64_t ContextInputs(bool context) {
  return context ? static_cast<int64_t>(ContextFeatures(ContextMode::kSize).size() * 2) : 0;
}

void SetRate(benchmark::State& state, int64_t images) {
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsRate);
}

// A light vignette with a dark ellipse whose shape depends on `seed`.
Image MakeVignette(int seed) {
  const int width = 16 + (seed * 7) % 70;
  const int height = 16 + (seed * 13) % 70;
  Image image{.width = width, .height = height, .channels = 3, .pixels = {}};
  image.pixels.assign(static_cast<size_t>(width * height * 3), 215);
  const double ry = height / (3.0 + seed % 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double dx = (x - width / 2.0) / (width / 3.0);
      const double dy = (y - height / 2.0) / ry;
      if (dx * dx + dy * dy < 1.0) {
        for (int channel = 0; channel < 3; ++channel) {
          image.pixels[static_cast<size_t>((y * width + x) * 3 + channel)] =
              static_cast<uint8_t>(60 + 40 * (seed % 3) + 5 * channel);
        }
      }
    }
  }
  return image;
}

void BM_Inference(benchmark::State& state, const char* architecture, bool context) {
  at::set_num_threads(kThreads);
  torch::manual_seed(1);
  ClassifierNet net(ParseArchitecture(architecture), 3, ContextInputs(context), kClasses);
  ToChannelsLast(*net);
  net->eval();
  const int64_t batch = BatchSize();
  const torch::Tensor images = torch::randn({batch, 3, ImageSize(), ImageSize()})
                                   .contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor inputs =
      context ? torch::randn({batch, ContextInputs(true)}) : torch::Tensor();
  const c10::InferenceMode inference;
  net->forward(images, inputs);  // warm-up: oneDNN builds its kernels on first use
  for (auto _ : state) {
    benchmark::DoNotOptimize(net->forward(images, inputs));
  }
  SetRate(state, state.iterations() * batch);
  int64_t parameters = 0;
  for (const torch::Tensor& parameter : net->parameters()) {
    parameters += parameter.numel();
  }
  state.counters["parameters"] = static_cast<double>(parameters);
}

void BM_TrainStep(benchmark::State& state, const char* architecture) {
  at::set_num_threads(kThreads);
  torch::manual_seed(1);
  ClassifierNet net(ParseArchitecture(architecture), 3, ContextInputs(true), kClasses);
  ToChannelsLast(*net);
  net->train();
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-3));
  const int64_t batch = BatchSize();
  const torch::Tensor images = torch::randn({batch, 3, ImageSize(), ImageSize()})
                                   .contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor context = torch::randn({batch, ContextInputs(true)});
  const torch::Tensor targets = torch::randint(0, kClasses, {batch});
  const auto step = [&] {
    optimizer.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(images, context), targets).backward();
    optimizer.step();
  };
  step();
  for (auto _ : state) {
    step();
  }
  SetRate(state, state.iterations() * batch);
}

// OpenTorchClassifier → Probabilities on vignettes of mixed sizes: preprocessing, context
// encoding, forward pass and calibrated softmax.
void BM_Classifier(benchmark::State& state, const char* architecture) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "phytoflow-classifier-bench.pt";
  ModelInfo info;
  info.id = "bench-000000000000";
  info.name = "bench";
  info.architecture = ParseArchitecture(architecture).Canonical();
  for (int64_t class_idx = 0; class_idx < kClasses; ++class_idx) {
    info.classes.push_back({.name = "class" + std::to_string(class_idx)});
  }
  info.preprocess = {.image_size = ImageSize(), .channels = 3};
  const std::vector<ParticleContext> contexts(
      static_cast<size_t>(BatchSize()),
      ParticleContext{.vignette_width = 40.0, .vignette_height = 30.0, .esd_um = 20.0});
  info.context = FitContextSchema(ContextMode::kSize, "px", contexts);
  info.thresholds.assign(info.classes.size(), 0.95);
  ClassifierNet net = MakeNetwork(info);
  WriteModelFile(path, info, net);
  const auto classifier = OpenTorchClassifier(path, {.threads = kThreads, .device = "cpu"});
  std::vector<Image> images;
  for (int64_t image_idx = 0; image_idx < BatchSize(); ++image_idx) {
    images.push_back(MakeVignette(static_cast<int>(image_idx)));
  }
  classifier->Probabilities(images, contexts);
  for (auto _ : state) {
    benchmark::DoNotOptimize(classifier->Probabilities(images, contexts));
  }
  SetRate(state, state.iterations() * BatchSize());
  std::filesystem::remove(path);
}

// TrainModel for one epoch over synthetic PNG vignettes of 3 classes: preloading, the
// background loader, augmentation, the training steps, validation and calibration. The
// counter is TrainResult::train_images_per_second (training steps only).
void BM_TrainModel(benchmark::State& state, const char* architecture) {
  const int items = SmokeRun() ? 32 : 1024;
  std::vector<LabelledImage> train_items;
  std::vector<LabelledImage> validation_items;
  for (int item_idx = 0; item_idx < items; ++item_idx) {
    LabelledImage item{.path = {},
                       .encoded = EncodePng(MakeVignette(item_idx)),
                       .label = "class" + std::to_string(item_idx % 3),
                       .context = {.vignette_width = 16.0 + (item_idx * 7) % 70,
                                   .vignette_height = 16.0 + (item_idx * 13) % 70}};
    (item_idx % 8 == 0 ? validation_items : train_items).push_back(std::move(item));
  }
  const Dataset train = MakeDataset(std::move(train_items), "px");
  const Dataset validation = MakeDataset(std::move(validation_items), "px");
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "phytoflow-train-bench.pt";
  double images_per_second = 0.0;
  for (auto _ : state) {
    const TrainResult result = TrainModel(train,
                                          validation,
                                          {.architecture = architecture,
                                           .epochs = 1,
                                           .image_size = ImageSize(),
                                           .batch_size = static_cast<int>(BatchSize()),
                                           .warmup_epochs = 0,
                                           .threads = kThreads,
                                           .device = "cpu"},
                                          path);
    images_per_second = result.train_images_per_second;
  }
  state.counters["train_images_per_s"] = images_per_second;
  std::filesystem::remove(path);
  std::filesystem::remove(std::filesystem::path(path).concat(".checkpoint"));
}

BENCHMARK_CAPTURE(BM_Inference, mobilenet, "mobilenet", false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Inference, mobilenet_context, "mobilenet", true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Inference, resnet, "resnet", false)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Inference, resnet_context, "resnet", true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Inference, mobilenet_small, "mobilenet:width=0.5,se=0", true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Inference, resnet_small, "resnet:width=16", true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Classifier, mobilenet, "mobilenet")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, mobilenet, "mobilenet")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, resnet, "resnet")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainModel, mobilenet, "mobilenet")
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
}  // namespace phytoflow::bench

BENCHMARK_MAIN();
