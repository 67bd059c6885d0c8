#include "phytoflow/classify/torch/torch_model.h"

#include "phytoflow/classify/preprocess.h"
#include "phytoflow/classify/torch/networks.h"
#include "phytoflow/classify/torch/torch_support.h"
#include "phytoflow/core/error.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

namespace phytoflow {
namespace {

// One LibTorch thread: ctest runs tests side by side on 2 cores, where an OpenMP team of 2
// waits at every barrier for a descheduled thread.
constexpr int kThreads = 1;

// A fresh folder under the temp directory, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("phytoflow-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& Path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A light vignette with a dark ellipse, like a FlowCam particle.
Image MakeVignette(int width, int height, int shade) {
  Image image{.width = width, .height = height, .channels = 3, .pixels = {}};
  image.pixels.resize(static_cast<size_t>(width * height * 3));
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double dx = (x - width / 2.0) / (width / 3.0);
      const double dy = (y - height / 2.0) / (height / 4.0);
      const bool inside = dx * dx + dy * dy < 1.0;
      for (int channel = 0; channel < 3; ++channel) {
        image.pixels[static_cast<size_t>((y * width + x) * 3 + channel)] =
            static_cast<uint8_t>(inside ? shade + 10 * channel : 220 + 10 * (channel == 2));
      }
    }
  }
  return image;
}

ErrorCode CodeOf(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& error) {
    return error.Code();
  }
  ADD_FAILURE() << "expected a phytoflow::Error";
  return ErrorCode::kInternal;
}

ModelInfo MakeInfo(const std::string& architecture, ContextMode mode) {
  ModelInfo info;
  info.id = "test-000000000000";
  info.name = "test";
  info.architecture = ParseArchitecture(architecture).Canonical();
  info.classes = {{.name = "a", .aphia_id = 12345}, {.name = "b"}, {.name = "c"}};
  info.preprocess = {.image_size = 32, .channels = 3};
  const std::vector<ParticleContext> contexts = {
      {.vignette_width = 20.0, .vignette_height = 30.0, .esd_um = 12.0},
      {.vignette_width = 60.0, .vignette_height = 40.0, .esd_um = 40.0},
  };
  info.context = FitContextSchema(mode, "px", contexts);
  info.temperature = 1.5;
  info.thresholds = {0.5, 0.9, 1.0};
  info.created_at = "2026-11-26T00:00:00Z";
  info.phytoflow_version = "0.1.0";
  info.training_json = R"({"note": "unit test"})";
  return info;
}

TEST(Networks, OutputShapesForBothArchitecturesWithAndWithoutContext) {
  torch::manual_seed(1);
  for (const char* architecture :
       {"resnet:width=8,depth=1", "mobilenet:width=0.25,depth=0.25", "mobilenet:se=0,act=relu6"}) {
    for (const int64_t context_inputs : {int64_t{0}, int64_t{10}}) {
      SCOPED_TRACE(std::string(architecture) + " context " + std::to_string(context_inputs));
      ClassifierNet net(ParseArchitecture(architecture), 3, context_inputs, 5);
      ToChannelsLast(*net);
      net->eval();
      torch::NoGradGuard no_grad;
      const torch::Tensor images =
          torch::randn({4, 3, 64, 64}).contiguous(torch::MemoryFormat::ChannelsLast);
      const torch::Tensor context =
          context_inputs > 0 ? torch::randn({4, context_inputs}) : torch::Tensor();
      EXPECT_EQ(net->forward(images, context).sizes(), (std::vector<int64_t>{4, 5}));
      // Other input sizes work too (global average pooling).
      EXPECT_EQ(net->forward(torch::randn({2, 3, 32, 32}),
                             context_inputs > 0 ? torch::randn({2, context_inputs}) : context)
                    .sizes(),
                (std::vector<int64_t>{2, 5}));
    }
  }
  ClassifierNet gray(ParseArchitecture("resnet:width=8"), 1, 0, 2);
  gray->eval();
  EXPECT_EQ(gray->forward(torch::randn({3, 1, 48, 48}), {}).sizes(), (std::vector<int64_t>{3, 2}));
}

TEST(Networks, ParsesAndRejectsArchitectureStrings) {
  const ArchitectureSpec resnet = ParseArchitecture("resnet:width=16,depth=2");
  EXPECT_EQ(resnet.kind, NetworkKind::kResNet);
  EXPECT_EQ(resnet.width, 16);
  EXPECT_EQ(resnet.depth, 2);
  const ArchitectureSpec mobilenet = ParseArchitecture("mobilenet");
  EXPECT_EQ(mobilenet.kind, NetworkKind::kMobileNet);
  EXPECT_EQ(ParseArchitecture(mobilenet.Canonical()).Canonical(), mobilenet.Canonical());
  EXPECT_EQ(ParseArchitecture("mobilenet:width=0.5,act=relu6,se=0").Canonical(),
            "mobilenet:width=0.5,depth=1,se=0,act=relu6,dropout=0.2");

  for (const char* bad : {"vgg",
                          "resnet:width=3",
                          "resnet:width=16.5",
                          "resnet:depth",
                          "resnet:se=1",
                          "mobilenet:width=abc",
                          "mobilenet:act=tanh",
                          "mobilenet:colour=red"}) {
    SCOPED_TRACE(bad);
    try {
      ParseArchitecture(bad);
      ADD_FAILURE() << "accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
      EXPECT_NE(std::string(error.what()).find(std::string(bad).substr(0, 6)), std::string::npos)
          << error.what();
    }
  }
}

TEST(ModelFile, RoundTripGivesIdenticalProbabilities) {
  const TempDir dir("torch-roundtrip");
  const std::vector<Image> images = {
      MakeVignette(30, 20, 40), MakeVignette(17, 45, 90), MakeVignette(64, 64, 140)};
  const std::vector<ParticleContext> contexts = {
      {.vignette_width = 30.0, .esd_um = 15.0}, {}, {.vignette_height = 64.0}};

  for (const ContextMode mode : {ContextMode::kNone, ContextMode::kSize}) {
    SCOPED_TRACE(std::string(ContextModeName(mode)));
    torch::manual_seed(7);
    const ModelInfo info = MakeInfo("mobilenet:width=0.25,depth=0.25", mode);
    ClassifierNet net = MakeNetwork(info);
    const std::filesystem::path path = dir.Path() / "model.pt";
    WriteModelFile(path, info, net);

    // The same computation by hand on the in-memory network.
    net->eval();
    const int64_t size = info.preprocess.image_size;
    torch::Tensor input = torch::empty({3, 3, size, size});
    for (int64_t image_idx = 0; image_idx < 3; ++image_idx) {
      const std::vector<float> chw =
          PreprocessImage(images[static_cast<size_t>(image_idx)], info.preprocess);
      std::copy(chw.begin(), chw.end(), input.data_ptr<float>() + image_idx * 3 * size * size);
    }
    torch::Tensor context;
    if (info.context.InputSize() > 0) {
      context = torch::empty({3, static_cast<int64_t>(info.context.InputSize())});
      for (int64_t image_idx = 0; image_idx < 3; ++image_idx) {
        const std::vector<float> encoded =
            EncodeContext(contexts[static_cast<size_t>(image_idx)], info.context);
        std::copy(encoded.begin(), encoded.end(), context[image_idx].data_ptr<float>());
      }
    }
    PlaceNetwork(net, torch::Device(torch::kCPU));
    torch::NoGradGuard no_grad;
    const torch::Tensor expected =
        torch::softmax(net->forward(input.contiguous(torch::MemoryFormat::ChannelsLast), context) /
                           info.temperature,
                       1);

    const auto classifier = OpenTorchClassifier(path, {.threads = kThreads});
    const std::vector<float> probabilities = classifier->Probabilities(images, contexts);
    ASSERT_EQ(probabilities.size(), 9U);
    for (size_t value_idx = 0; value_idx < probabilities.size(); ++value_idx) {
      EXPECT_NEAR(probabilities[value_idx],
                  expected.view({-1})[static_cast<int64_t>(value_idx)].item<float>(),
                  1e-6);
    }
    // Loading again gives the same results, in batches of any size.
    const auto again = OpenTorchClassifier(path, {.threads = kThreads, .batch_size = 2});
    const std::vector<float> batched = again->Probabilities(images, contexts);
    ASSERT_EQ(batched.size(), probabilities.size());
    for (size_t value_idx = 0; value_idx < batched.size(); ++value_idx) {
      EXPECT_NEAR(batched[value_idx], probabilities[value_idx], 1e-6);
    }

    const ModelInfo read = ReadModelInfo(path);
    EXPECT_EQ(read.id, info.id);
    EXPECT_EQ(read.architecture, info.architecture);
    EXPECT_EQ(read.classes, info.classes);
    EXPECT_EQ(read.preprocess, info.preprocess);
    EXPECT_EQ(read.context, info.context);
    EXPECT_EQ(read.temperature, info.temperature);
    EXPECT_EQ(read.thresholds, info.thresholds);
    EXPECT_NE(read.training_json.find("unit test"), std::string::npos);

    const std::vector<Prediction> predictions = classifier->Classify(images, contexts, 2);
    ASSERT_EQ(predictions.size(), 3U);
    EXPECT_EQ(predictions[0].top_k.size(), 2U);

    // Test-time augmentation still gives probability rows.
    const auto tta =
        OpenTorchClassifier(path, {.threads = kThreads, .test_time_augmentation = true});
    const std::vector<float> averaged = tta->Probabilities(images, {});
    ASSERT_EQ(averaged.size(), 9U);
    for (size_t row = 0; row < 3; ++row) {
      EXPECT_NEAR(averaged[row * 3] + averaged[row * 3 + 1] + averaged[row * 3 + 2], 1.0, 1e-5);
    }
    EXPECT_EQ(
        CodeOf([&] { (void)classifier->Probabilities(images, std::span(contexts).first(1)); }),
        ErrorCode::kInvalidInput);
  }
}

TEST(ModelFile, RefusesMissingForeignAndFutureFiles) {
  const TempDir dir("torch-refuse");
  EXPECT_EQ(CodeOf([&] { ReadModelInfo(dir.Path() / "missing.pt"); }), ErrorCode::kNotFound);

  std::ofstream(dir.Path() / "text.pt") << "not a model";
  EXPECT_EQ(CodeOf([&] { ReadModelInfo(dir.Path() / "text.pt"); }), ErrorCode::kInvalidInput);

  torch::serialize::OutputArchive future;
  future.write("format", c10::IValue(std::string(kModelFormatName)));
  future.write("format_version", c10::IValue(int64_t{99}));
  future.save_to((dir.Path() / "future.pt").string());
  try {
    ReadModelInfo(dir.Path() / "future.pt");
    ADD_FAILURE() << "accepted version 99";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what()).find("version 99"), std::string::npos) << error.what();
  }
  EXPECT_EQ(CodeOf([&] { OpenTorchClassifier(dir.Path() / "x.pt", {.device = "tpu"}); }),
            ErrorCode::kInvalidInput);
}

// A small real slice: 60 images per class of flowcam_vicko_3class, 45 to train, 15 to validate.
std::pair<Dataset, Dataset> SmallVickoSplit() {
  const char* source = std::getenv("PHYTOFLOW_SOURCE_DIR");
  const std::filesystem::path root = std::filesystem::path(source != nullptr ? source : ".") /
                                     "../shared/data/labeled/flowcam_vicko_3class";
  if (!std::filesystem::is_directory(root)) {
    return {};
  }
  const Dataset full = LoadDataset(root, {});
  std::map<int, int> taken;
  std::vector<LabelledImage> items;
  for (size_t item_idx = 0; item_idx < full.items.size(); ++item_idx) {
    if (taken[full.targets[item_idx]]++ < 60) {
      items.push_back(full.items[item_idx]);
    }
  }
  return StratifiedSplit(MakeDataset(std::move(items), full.size_unit), 0.75, 3);
}

TEST(TrainModel, LossFallsModelReloadsAndResumeMatchesAnUninterruptedRun) {
  const auto [train, validation] = SmallVickoSplit();
  if (train.items.empty()) {
    GTEST_SKIP() << "../shared/data/labeled/flowcam_vicko_3class is not available";
  }
  ASSERT_EQ(train.classes, (std::vector<std::string>{"Junk", "Missed", "Protist"}));
  const TempDir dir("torch-train");

  std::vector<double> epoch_losses;
  int64_t progress_calls = 0;
  TrainOptions options{
      .name = "tiny",
      .architecture = "mobilenet:width=0.5,depth=0.25",
      .epochs = 3,
      .image_size = 32,
      .batch_size = 16,
      .learning_rate = 5e-3,
      .warmup_epochs = 1,
      .context = ContextMode::kSize,
      .seed = 11,
      .threads = kThreads,
      .device = "cpu",
      .class_info = {{.name = "Protist", .aphia_id = 1}},
  };
  options.on_progress = [&](const TrainProgress& progress) {
    ++progress_calls;
    EXPECT_GE(progress.seconds_left, 0.0);
    if (progress.validation_macro_f1) {
      epoch_losses.push_back(progress.loss);
    }
  };
  const std::filesystem::path model = dir.Path() / "model.pt";
  const TrainResult result = TrainModel(train, validation, options, model);
  EXPECT_EQ(result.epochs_run, 3);
  ASSERT_EQ(epoch_losses.size(), 3U);
  EXPECT_LT(epoch_losses.back(), epoch_losses.front());
  EXPECT_GT(progress_calls, 3);
  EXPECT_GT(result.train_images_per_second, 0.0);
  EXPECT_EQ(result.validation.items, static_cast<int64_t>(validation.items.size()));
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(model).concat(".checkpoint")));

  const ModelInfo info = ReadModelInfo(model);
  EXPECT_EQ(info.ClassNames(), train.classes);
  EXPECT_EQ(info.classes[2].aphia_id, 1);
  EXPECT_EQ(info.id, result.info.id);
  EXPECT_EQ(info.id.size(), std::string("tiny-").size() + 12);
  EXPECT_EQ(info.thresholds, result.info.thresholds);
  ASSERT_EQ(info.thresholds.size(), 3U);
  for (const double threshold : info.thresholds) {
    EXPECT_GT(threshold, 0.0);
    EXPECT_LE(threshold, 1.0);
  }
  EXPECT_EQ(info.temperature, result.info.temperature);
  EXPECT_GT(info.temperature, 0.0);
  EXPECT_EQ(info.context.mode, ContextMode::kSize);
  EXPECT_EQ(info.preprocess.image_size, 32);

  const auto classifier = OpenTorchClassifier(model, {.threads = kThreads});
  std::vector<Image> images;
  std::vector<ParticleContext> contexts;
  for (size_t item_idx = 0; item_idx < 4; ++item_idx) {
    images.push_back(LoadItemImage(validation.items[item_idx]));
    contexts.push_back(validation.items[item_idx].context);
  }
  const std::vector<float> probabilities = classifier->Probabilities(images, contexts);
  ASSERT_EQ(probabilities.size(), 12U);
  EXPECT_NEAR(std::accumulate(probabilities.begin(), probabilities.end(), 0.0), 4.0, 1e-4);

  // Two epochs, then a resumed third: the same weights as the uninterrupted run.
  options.epochs = 2;
  options.on_progress = nullptr;
  const std::filesystem::path partial = dir.Path() / "partial.pt";
  EXPECT_EQ(TrainModel(train, validation, options, partial).epochs_run, 2);
  options.epochs = 3;
  options.resume = std::filesystem::path(partial).concat(".checkpoint");
  const TrainResult resumed = TrainModel(train, validation, options, dir.Path() / "resumed.pt");
  EXPECT_EQ(resumed.epochs_run, 3);
  EXPECT_EQ(resumed.best_epoch, result.best_epoch);
  EXPECT_EQ(resumed.info.id, result.info.id);

  // A checkpoint only resumes the setup it was written for.
  options.architecture = "resnet:width=8";
  EXPECT_EQ(CodeOf([&] { TrainModel(train, validation, options, dir.Path() / "other.pt"); }),
            ErrorCode::kInvalidInput);
  options.architecture = "mobilenet:width=0.5,depth=0.25";
  options.resume = model;  // a model file is not a checkpoint
  EXPECT_EQ(CodeOf([&] { TrainModel(train, validation, options, dir.Path() / "other.pt"); }),
            ErrorCode::kInvalidInput);
  options.architecture = "transformer";
  options.resume.reset();
  EXPECT_EQ(CodeOf([&] { TrainModel(train, validation, options, dir.Path() / "other.pt"); }),
            ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace phytoflow
