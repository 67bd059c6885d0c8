// TrainModel: preloading, batches prepared on a background thread, augmentation, AdamW with a
// cosine schedule, early stopping on validation macro-F1, checkpoints, calibration and the
// model file.

#include "phytoflow/classify/calibration.h"
#include "phytoflow/classify/preprocess.h"
#include "phytoflow/classify/torch/torch_model.h"
#include "phytoflow/classify/torch/torch_support.h"
#include "phytoflow/core/error.h"
#include "phytoflow/core/parallel.h"
#include "phytoflow/core/version.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <numbers>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kCheckpointFormatName = "phytoflow-checkpoint";
constexpr int64_t kCheckpointFormatVersion = 1;

// Preloaded images are int8: round(preprocessed value × 32), i.e. steps of 2 grey levels over
// ±255 grey levels from the background. A quarter of float's memory (NDSB at 64 px: 300 MB);
// the rounding is far below the brightness jitter of the augmentation.
constexpr float kQuantScale = 32.0F;
// Batches prepared ahead of the training step.
constexpr size_t kQueueDepth = 3;
// Images per forward pass when computing validation logits.
constexpr int64_t kEvalBatch = 256;

// Augmentation ranges.
constexpr double kAffineProbability = 0.6;
constexpr double kMaxRotationDegrees = 15.0;
constexpr double kScaleJitter = 0.15;
constexpr double kMaxShift = 0.05;  // fraction of the half-width (affine_grid's unit)
constexpr double kContrastJitter = 0.2;
constexpr double kBrightnessJitter = 0.1;  // in preprocessed units (1 = 64 grey levels)
// The learning rate never falls below this fraction of the peak at the end of the cosine.
constexpr double kMinLearningRateFraction = 0.01;

struct Preloaded {
  int64_t count = 0;
  int64_t pixels = 0;  // values per image: channels × size × size
  int64_t context_inputs = 0;
  std::vector<int8_t> images;
  std::vector<float> context;
  std::vector<int> targets;
};

Preloaded Preload(const Dataset& dataset,
                  const std::vector<int>& targets,
                  const PreprocessOptions& preprocess,
                  const ContextSchema& schema,
                  int threads) {
  Preloaded data;
  data.count = static_cast<int64_t>(dataset.items.size());
  data.pixels = int64_t{preprocess.channels} * preprocess.image_size * preprocess.image_size;
  data.context_inputs = static_cast<int64_t>(schema.InputSize());
  data.images.resize(static_cast<size_t>(data.count * data.pixels));
  data.context.resize(static_cast<size_t>(data.count * data.context_inputs));
  data.targets = targets;
  ParallelFor(dataset.items.size(), threads, [&](size_t item_idx) {
    const LabelledImage& item = dataset.items[item_idx];
    const std::vector<float> chw = PreprocessImage(LoadItemImage(item), preprocess);
    if (static_cast<int64_t>(chw.size()) != data.pixels) {
      throw Error{ErrorCode::kInternal,
                  "preprocessing gave " + std::to_string(chw.size()) + " values, expected " +
                      std::to_string(data.pixels)};
    }
    int8_t* out = data.images.data() + static_cast<int64_t>(item_idx) * data.pixels;
    for (size_t value_idx = 0; value_idx < chw.size(); ++value_idx) {
      out[value_idx] =
          static_cast<int8_t>(std::clamp(std::lround(chw[value_idx] * kQuantScale), -127L, 127L));
    }
    const std::vector<float> encoded = EncodeContext(item.context, schema);
    std::copy(encoded.begin(),
              encoded.end(),
              data.context.begin() + static_cast<int64_t>(item_idx) * data.context_inputs);
  });
  return data;
}

struct Batch {
  torch::Tensor images;   // [B, C, S, S] float; flips, rotations by 90° and jitter applied
  torch::Tensor theta;    // [B, 2, 3] small rotation / scale / shift still to apply
  torch::Tensor context;  // [B, K], undefined without context
  torch::Tensor targets;  // [B] int64
};

// Draws class-balanced batches and augments them on a background thread, a few batches
// ahead of the training step. Only plain C++ runs there: LibTorch ops on a second thread
// would start a second OpenMP team and oversubscribe the cores; the affine warp (one
// grid_sample per batch) is left to the training thread.
class BatchLoader {
 public:
  BatchLoader(const Preloaded& data,
              const std::vector<double>& sample_weights,
              int64_t steps,
              int64_t batch_size,
              int image_size,
              uint32_t seed)
      : data_(data),
        sample_weights_(sample_weights),
        steps_(steps),
        batch_size_(batch_size),
        image_size_(image_size),
        seed_(seed),
        thread_([this](std::stop_token stop) { Run(stop); }) {}

  // The next batch, or nullopt after the last one. Rethrows the loader's exception.
  std::optional<Batch> Next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !ready_.empty() || done_; });
    if (error_) {
      std::rethrow_exception(error_);
    }
    if (ready_.empty()) {
      return std::nullopt;
    }
    Batch batch = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return batch;
  }

 private:
  void Run(const std::stop_token& stop) {
    try {
      std::mt19937 rng(seed_);
      std::discrete_distribution<int64_t> sampler(sample_weights_.begin(), sample_weights_.end());
      for (int64_t step = 0; step < steps_ && !stop.stop_requested(); ++step) {
        Batch batch = MakeBatch(rng, sampler);
        std::unique_lock lock(mutex_);
        changed_.wait(lock, stop, [this] { return ready_.size() < kQueueDepth; });
        if (stop.stop_requested()) {
          break;
        }
        ready_.push_back(std::move(batch));
        changed_.notify_all();
      }
    } catch (...) {
      const std::lock_guard lock(mutex_);
      error_ = std::current_exception();
    }
    const std::lock_guard lock(mutex_);
    done_ = true;
    changed_.notify_all();
  }

  Batch MakeBatch(std::mt19937& rng, std::discrete_distribution<int64_t>& sampler) const {
    const int64_t size = image_size_;
    const int64_t channels = data_.pixels / (size * size);
    Batch batch{
        .images = torch::empty({batch_size_, channels, size, size}),
        .theta = torch::empty({batch_size_, 2, 3}),
        .context = data_.context_inputs > 0 ? torch::empty({batch_size_, data_.context_inputs})
                                            : torch::Tensor(),
        .targets = torch::empty({batch_size_}, torch::kInt64),
    };
    float* images = batch.images.data_ptr<float>();
    float* theta = batch.theta.data_ptr<float>();
    int64_t* targets = batch.targets.data_ptr<int64_t>();
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto uniform = [&](double low, double high) {
      return low + (high - low) * unit(rng);
    };
    for (int64_t sample_idx = 0; sample_idx < batch_size_; ++sample_idx) {
      const int64_t item = sampler(rng);
      targets[sample_idx] = data_.targets[static_cast<size_t>(item)];
      if (batch.context.defined()) {
        std::copy_n(data_.context.begin() + item * data_.context_inputs,
                    data_.context_inputs,
                    batch.context.data_ptr<float>() + sample_idx * data_.context_inputs);
      }
      // One of the 8 symmetries of the square, and contrast / brightness around the
      // background (which preprocessing maps to 0).
      const auto symmetry = static_cast<int>(rng() % 8);
      const auto contrast =
          static_cast<float>(uniform(1.0 - kContrastJitter, 1.0 + kContrastJitter));
      const auto brightness = static_cast<float>(uniform(-kBrightnessJitter, kBrightnessJitter));
      const float gain = contrast / kQuantScale;
      const int8_t* source = data_.images.data() + item * data_.pixels;
      float* out = images + sample_idx * data_.pixels;
      for (int64_t channel = 0; channel < channels; ++channel) {
        const int8_t* plane = source + channel * size * size;
        for (int64_t y = 0; y < size; ++y) {
          for (int64_t x = 0; x < size; ++x) {
            int64_t row = (symmetry & 2) != 0 ? size - 1 - y : y;
            int64_t column = (symmetry & 1) != 0 ? size - 1 - x : x;
            if ((symmetry & 4) != 0) {
              std::swap(row, column);
            }
            *out++ = static_cast<float>(plane[row * size + column]) * gain + brightness;
          }
        }
      }
      // Small rotation, scale and shift for some images; the identity for the others
      // (which grid_sample reproduces exactly).
      double angle = 0.0;
      double scale = 1.0;
      double shift_x = 0.0;
      double shift_y = 0.0;
      if (unit(rng) < kAffineProbability) {
        angle = uniform(-kMaxRotationDegrees, kMaxRotationDegrees) * std::numbers::pi / 180.0;
        scale = uniform(1.0 - kScaleJitter, 1.0 + kScaleJitter);
        shift_x = uniform(-kMaxShift, kMaxShift);
        shift_y = uniform(-kMaxShift, kMaxShift);
      }
      // affine_grid maps output to input coordinates: dividing by `scale` zooms in.
      float* t = theta + sample_idx * 6;
      t[0] = static_cast<float>(std::cos(angle) / scale);
      t[1] = static_cast<float>(-std::sin(angle) / scale);
      t[2] = static_cast<float>(shift_x);
      t[3] = static_cast<float>(std::sin(angle) / scale);
      t[4] = static_cast<float>(std::cos(angle) / scale);
      t[5] = static_cast<float>(shift_y);
    }
    return batch;
  }

  const Preloaded& data_;
  const std::vector<double>& sample_weights_;
  int64_t steps_;
  int64_t batch_size_;
  int image_size_;
  uint32_t seed_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<Batch> ready_;
  std::exception_ptr error_;
  bool done_ = false;
  std::jthread thread_;  // last: starts once everything above is constructed
};

// Cross-entropy against targets smoothed towards the uniform distribution (written out: the
// C++ CrossEntropyLoss options of older LibTorch releases lack label_smoothing).
torch::Tensor SmoothedCrossEntropy(const torch::Tensor& logits,
                                   const torch::Tensor& targets,
                                   double smoothing) {
  const torch::Tensor log_probabilities = torch::log_softmax(logits, 1);
  const torch::Tensor nll = -log_probabilities.gather(1, targets.unsqueeze(1)).squeeze(1);
  const torch::Tensor uniform = -log_probabilities.mean(1);
  return ((1.0 - smoothing) * nll + smoothing * uniform).mean();
}

torch::Tensor Warp(const torch::Tensor& images, const torch::Tensor& theta) {
  namespace F = torch::nn::functional;
  const torch::Tensor grid = F::affine_grid(theta, images.sizes(), /*align_corners=*/false);
  return F::grid_sample(images,
                        grid,
                        F::GridSampleFuncOptions()
                            .mode(torch::kBilinear)
                            .padding_mode(torch::kBorder)
                            .align_corners(false));
}

// Logits of every preloaded item, row-major [count × classes], in eval mode.
std::vector<float> ComputeLogits(ClassifierNet& net,
                                 const Preloaded& data,
                                 int image_size,
                                 const torch::Device& device) {
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t channels = data.pixels / (int64_t{image_size} * image_size);
  std::vector<float> logits;
  for (int64_t start = 0; start < data.count; start += kEvalBatch) {
    const int64_t count = std::min(kEvalBatch, data.count - start);
    torch::Tensor images =
        torch::from_blob(const_cast<int8_t*>(data.images.data()) + start * data.pixels,
                         {count, channels, image_size, image_size},
                         torch::kInt8)
            .to(torch::kFloat32)
            .div_(kQuantScale);
    torch::Tensor context;
    if (data.context_inputs > 0) {
      context =
          torch::from_blob(const_cast<float*>(data.context.data()) + start * data.context_inputs,
                           {count, data.context_inputs})
              .to(device);
    }
    images =
        device.is_cpu() ? images.contiguous(torch::MemoryFormat::ChannelsLast) : images.to(device);
    const torch::Tensor out = net->forward(images, context).to(torch::kCPU).contiguous();
    logits.insert(logits.end(), out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
  }
  return logits;
}

struct EpochRecord {
  int epoch = 0;
  double loss = 0.0;
  double accuracy = 0.0;
  double validation_macro_f1 = 0.0;
  double seconds = 0.0;
};

// What a checkpoint restores besides the weights and the optimizer.
struct TrainState {
  int epoch = 0;  // last completed epoch
  int best_epoch = 0;
  double best_macro_f1 = -1.0;
  int stale_epochs = 0;  // epochs since the best one
  int64_t global_step = 0;
  double train_seconds = 0.0;
  int64_t images_seen = 0;
  std::vector<EpochRecord> history;
};

Json StateToJson(const TrainState& state, uint32_t seed) {
  Json history = Json::array();
  for (const EpochRecord& record : state.history) {
    history.push_back({{"epoch", record.epoch},
                       {"loss", record.loss},
                       {"accuracy", record.accuracy},
                       {"validation_macro_f1", record.validation_macro_f1},
                       {"seconds", record.seconds}});
  }
  return {{"epoch", state.epoch},
          {"best_epoch", state.best_epoch},
          {"best_macro_f1", state.best_macro_f1},
          {"stale_epochs", state.stale_epochs},
          {"global_step", state.global_step},
          {"train_seconds", state.train_seconds},
          {"images_seen", state.images_seen},
          {"seed", seed},
          {"history", std::move(history)}};
}

TrainState StateFromJson(const Json& json) {
  TrainState state;
  state.epoch = json.at("epoch").get<int>();
  state.best_epoch = json.at("best_epoch").get<int>();
  state.best_macro_f1 = json.at("best_macro_f1").get<double>();
  state.stale_epochs = json.at("stale_epochs").get<int>();
  state.global_step = json.at("global_step").get<int64_t>();
  state.train_seconds = json.at("train_seconds").get<double>();
  state.images_seen = json.at("images_seen").get<int64_t>();
  for (const Json& record : json.at("history")) {
    state.history.push_back({.epoch = record.at("epoch").get<int>(),
                             .loss = record.at("loss").get<double>(),
                             .accuracy = record.at("accuracy").get<double>(),
                             .validation_macro_f1 = record.at("validation_macro_f1").get<double>(),
                             .seconds = record.at("seconds").get<double>()});
  }
  return state;
}

void WriteCheckpoint(const std::filesystem::path& path,
                     const ModelInfo& info,
                     const TrainState& state,
                     uint32_t seed,
                     ClassifierNet& net,
                     torch::optim::Optimizer& optimizer,
                     const std::vector<torch::Tensor>& best) {
  std::filesystem::path partial = path;
  partial += ".partial";
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormatName)));
  archive.write("format_version", c10::IValue(kCheckpointFormatVersion));
  archive.write("info", c10::IValue(ModelInfoToJson(info)));
  archive.write("state", c10::IValue(StateToJson(state, seed).dump()));
  torch::serialize::OutputArchive weights(archive.compilation_unit());
  net->save(weights);
  archive.write("weights", weights);
  torch::serialize::OutputArchive optimizer_archive(archive.compilation_unit());
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  torch::serialize::OutputArchive best_archive(archive.compilation_unit());
  for (size_t tensor_idx = 0; tensor_idx < best.size(); ++tensor_idx) {
    best_archive.write(std::to_string(tensor_idx), best[tensor_idx]);
  }
  archive.write("best", best_archive);
  archive.save_to(partial.string());
  std::filesystem::rename(partial, path);  // a crash mid-write keeps the previous checkpoint
}

// Restores net, optimizer and best weights from a checkpoint written for the same setup.
TrainState ReadCheckpoint(const std::filesystem::path& path,
                          const ModelInfo& expected,
                          const torch::Device& device,
                          ClassifierNet& net,
                          torch::optim::Optimizer& optimizer,
                          std::vector<torch::Tensor>& best) {
  const std::string source = path.string();
  if (!std::filesystem::is_regular_file(path)) {
    throw Error{ErrorCode::kNotFound, "checkpoint not found: " + source};
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(source, device);
  } catch (const c10::Error& error) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": not a phytoflow checkpoint (" + TorchMessage(error) + ")"};
  }
  CheckArchiveFormat(
      archive, source, kCheckpointFormatName, kCheckpointFormatVersion, "checkpoint");
  c10::IValue info_text;
  archive.read("info", info_text);
  const ModelInfo info = ModelInfoFromJson(info_text.toStringRef(), source);
  const auto mismatch =
      [&](const std::string& what, const std::string& found, const std::string& wanted) {
        throw Error{ErrorCode::kInvalidInput,
                    source + ": the checkpoint was written for " + what + " '" + found +
                        "', this run has '" + wanted + "'"};
      };
  if (info.architecture != expected.architecture) {
    mismatch("architecture", info.architecture, expected.architecture);
  }
  if (info.ClassNames() != expected.ClassNames()) {
    mismatch("classes", Json(info.ClassNames()).dump(), Json(expected.ClassNames()).dump());
  }
  if (!(info.preprocess == expected.preprocess)) {
    mismatch(
        "image size/channels",
        std::to_string(info.preprocess.image_size) + "/" + std::to_string(info.preprocess.channels),
        std::to_string(expected.preprocess.image_size) + "/" +
            std::to_string(expected.preprocess.channels));
  }
  if (info.context.mode != expected.context.mode ||
      info.context.features != expected.context.features) {
    mismatch("context",
             std::string(ContextModeName(info.context.mode)),
             std::string(ContextModeName(expected.context.mode)));
  }
  c10::IValue state_text;
  archive.read("state", state_text);
  TrainState state;
  try {
    state = StateFromJson(Json::parse(state_text.toStringRef()));
  } catch (const Json::exception& error) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": unreadable training state: " + std::string(error.what())};
  }
  try {
    torch::serialize::InputArchive weights;
    archive.read("weights", weights);
    net->load(weights);
    PlaceNetwork(net, device);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    torch::serialize::InputArchive best_archive;
    archive.read("best", best_archive);
    best.clear();
    for (size_t tensor_idx = 0;; ++tensor_idx) {
      torch::Tensor tensor;
      if (!best_archive.try_read(std::to_string(tensor_idx), tensor)) {
        break;
      }
      best.push_back(tensor.to(device));
    }
  } catch (const c10::Error& error) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": cannot restore the checkpoint (" + TorchMessage(error) + ")"};
  }
  if (best.size() != net->parameters().size() + net->buffers().size()) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": the checkpoint's best weights are incomplete"};
  }
  return state;
}

void ValidateOptions(const TrainOptions& options) {
  const auto check = [](bool ok, const std::string& message) {
    if (!ok) {
      throw Error{ErrorCode::kInvalidInput, "invalid training option: " + message};
    }
  };
  check(!options.name.empty(), "name must not be empty");
  check(options.epochs >= 1, "epochs must be at least 1");
  check(options.image_size >= 16 && options.image_size <= 512,
        "image_size must be in [16, 512], found " + std::to_string(options.image_size));
  check(options.channels == 1 || options.channels == 3,
        "channels must be 1 or 3, found " + std::to_string(options.channels));
  check(options.batch_size >= 2, "batch_size must be at least 2 (batch norm)");
  check(options.learning_rate > 0.0 && options.learning_rate < 1.0,
        "learning_rate must be in (0, 1)");
  check(options.weight_decay >= 0.0, "weight_decay must not be negative");
  check(options.label_smoothing >= 0.0 && options.label_smoothing < 1.0,
        "label_smoothing must be in [0, 1)");
  check(options.warmup_epochs >= 0, "warmup_epochs must not be negative");
  check(options.patience >= 1, "patience must be at least 1");
  check(options.target_precision > 0.0 && options.target_precision <= 1.0,
        "target_precision must be in (0, 1]");
}

// Targets of `dataset` as indices into `classes` (a validation set may lack some classes).
std::vector<int> MapTargets(const Dataset& dataset, const std::vector<std::string>& classes) {
  std::map<std::string, int> index;
  for (size_t class_idx = 0; class_idx < classes.size(); ++class_idx) {
    index[classes[class_idx]] = static_cast<int>(class_idx);
  }
  std::vector<int> targets;
  targets.reserve(dataset.items.size());
  for (size_t item_idx = 0; item_idx < dataset.items.size(); ++item_idx) {
    const std::string& label = dataset.classes.at(static_cast<size_t>(dataset.targets[item_idx]));
    const auto found = index.find(label);
    if (found == index.end()) {
      throw Error{ErrorCode::kInvalidInput,
                  "validation class '" + label + "' does not occur in the training data"};
    }
    targets.push_back(found->second);
  }
  return targets;
}

double LearningRate(const TrainOptions& options, int64_t step, int64_t steps_per_epoch) {
  const int64_t total = std::max<int64_t>(1, int64_t{options.epochs} * steps_per_epoch);
  const int64_t warmup = std::min(total - 1, int64_t{options.warmup_epochs} * steps_per_epoch);
  if (step < warmup) {
    return options.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup);
  }
  const double progress = static_cast<double>(step - warmup) /
                          static_cast<double>(std::max<int64_t>(1, total - warmup));
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * std::min(1.0, progress)));
  return options.learning_rate *
         (kMinLearningRateFraction + (1.0 - kMinLearningRateFraction) * cosine);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

TrainResult Train(const Dataset& train,
                  const Dataset& validation,
                  const TrainOptions& options,
                  const std::filesystem::path& model_path) {
  ValidateOptions(options);
  if (train.items.empty() || train.classes.empty()) {
    throw Error{ErrorCode::kInvalidInput, "the training dataset is empty"};
  }
  if (validation.items.empty()) {
    throw Error{ErrorCode::kInvalidInput, "the validation dataset is empty"};
  }
  if (options.context != ContextMode::kNone && train.size_unit != validation.size_unit) {
    throw Error{ErrorCode::kInvalidInput,
                "training sizes are in " + train.size_unit + " but validation sizes in " +
                    validation.size_unit + "; give both the same pixel size"};
  }
  const std::filesystem::path folder = model_path.parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder)) {
    throw Error{ErrorCode::kNotFound, "output folder does not exist: " + folder.string()};
  }
  const auto start_time = Clock::now();
  const int threads = options.threads > 0 ? options.threads : DefaultThreadCount();

  // What the model file will say about itself, except the fitted and measured parts.
  ModelInfo info;
  info.name = options.name;
  info.architecture = ParseArchitecture(options.architecture).Canonical();
  for (const std::string& name : train.classes) {
    ModelClass model_class{.name = name};
    for (const ModelClass& given : options.class_info) {
      if (given.name == name) {
        model_class.aphia_id = given.aphia_id;
      }
    }
    info.classes.push_back(std::move(model_class));
  }
  info.preprocess = {.image_size = options.image_size, .channels = options.channels};
  std::vector<ParticleContext> train_contexts;
  train_contexts.reserve(train.items.size());
  for (const LabelledImage& item : train.items) {
    train_contexts.push_back(item.context);
  }
  info.context = FitContextSchema(options.context, train.size_unit, train_contexts);
  info.target_precision = options.target_precision;
  info.thresholds.assign(info.classes.size(), options.target_precision);
  const size_t classes = info.classes.size();

  const Preloaded train_data =
      Preload(train, train.targets, info.preprocess, info.context, threads);
  const Preloaded validation_data = Preload(
      validation, MapTargets(validation, train.classes), info.preprocess, info.context, threads);

  // Each item is drawn with weight 1/sqrt(its class size): rare classes are seen more often
  // than their share, without repeating a handful of images endlessly.
  const std::vector<int64_t> counts = train.ClassCounts();
  std::vector<double> sample_weights;
  sample_weights.reserve(train.items.size());
  for (const int target : train.targets) {
    sample_weights.push_back(
        1.0 / std::sqrt(static_cast<double>(counts.at(static_cast<size_t>(target)))));
  }

  const torch::Device device = SelectDevice(options.device, options.threads);
  torch::manual_seed(options.seed);
  ClassifierNet net = MakeNetwork(info);
  PlaceNetwork(net, device);

  // No weight decay on batch-norm scales and biases (1-D parameters).
  std::vector<torch::Tensor> decayed;
  std::vector<torch::Tensor> not_decayed;
  for (const torch::Tensor& parameter : net->parameters()) {
    (parameter.dim() > 1 ? decayed : not_decayed).push_back(parameter);
  }
  const auto adamw = [&](double weight_decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(options.learning_rate).weight_decay(weight_decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, adamw(options.weight_decay));
  groups.emplace_back(not_decayed, adamw(0.0));
  torch::optim::AdamW optimizer(
      groups, torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay));

  const int64_t steps_per_epoch =
      std::max<int64_t>(1, (train_data.count + options.batch_size - 1) / options.batch_size);
  const std::filesystem::path checkpoint_path =
      std::filesystem::path(model_path).concat(".checkpoint");
  TrainState state;
  std::vector<torch::Tensor> best = CopyState(*net);
  if (options.resume) {
    state = ReadCheckpoint(*options.resume, info, device, net, optimizer, best);
  }

  const int64_t total_steps = int64_t{options.epochs} * steps_per_epoch;
  const auto report = [&](const TrainProgress& progress) {
    if (options.on_progress) {
      options.on_progress(progress);
    }
  };
  const double seconds_before = state.train_seconds;
  const auto run_start = Clock::now();
  while (state.epoch < options.epochs && state.stale_epochs < options.patience) {
    const int epoch = state.epoch + 1;
    const auto epoch_start = Clock::now();
    // Seeds derived from the epoch: a resumed run draws exactly what an uninterrupted one
    // would have drawn.
    const uint32_t epoch_seed = options.seed * 1000003U + static_cast<uint32_t>(epoch);
    torch::manual_seed(epoch_seed);
    net->train();
    BatchLoader loader(train_data,
                       sample_weights,
                       steps_per_epoch,
                       options.batch_size,
                       options.image_size,
                       epoch_seed);
    double loss_sum = 0.0;
    int64_t correct = 0;
    int64_t seen = 0;
    int64_t step = 0;
    while (std::optional<Batch> batch = loader.Next()) {
      const double learning_rate = LearningRate(options, state.global_step, steps_per_epoch);
      for (torch::optim::OptimizerParamGroup& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learning_rate);
      }
      torch::Tensor images = Warp(batch->images.to(device), batch->theta.to(device));
      if (device.is_cpu()) {
        images = images.contiguous(torch::MemoryFormat::ChannelsLast);
      }
      const torch::Tensor context =
          batch->context.defined() ? batch->context.to(device) : batch->context;
      const torch::Tensor targets = batch->targets.to(device);
      optimizer.zero_grad();
      const torch::Tensor logits = net->forward(images, context);
      const torch::Tensor loss = SmoothedCrossEntropy(logits, targets, options.label_smoothing);
      loss.backward();
      optimizer.step();

      const int64_t batch_items = targets.size(0);
      loss_sum += loss.item<double>() * static_cast<double>(batch_items);
      correct += logits.argmax(1).eq(targets).sum().item<int64_t>();
      seen += batch_items;
      ++step;
      ++state.global_step;
      const double seconds_per_step = (seconds_before + Seconds(run_start)) /
                                      static_cast<double>(std::max<int64_t>(1, state.global_step));
      report({.epoch = epoch,
              .epochs = options.epochs,
              .step = step,
              .steps = steps_per_epoch,
              .loss = loss_sum / static_cast<double>(seen),
              .accuracy = static_cast<double>(correct) / static_cast<double>(seen),
              .seconds_left =
                  seconds_per_step * static_cast<double>(total_steps - state.global_step)});
    }
    state.images_seen += seen;
    const double train_seconds = Seconds(epoch_start);
    state.train_seconds += train_seconds;

    const std::vector<float> logits =
        ComputeLogits(net, validation_data, options.image_size, device);
    const std::vector<float> probabilities = Softmax(logits, classes, 1.0);
    const EvaluationReport evaluation =
        Evaluate(validation_data.targets, probabilities, train.classes);
    state.epoch = epoch;
    if (evaluation.macro_f1 > state.best_macro_f1) {
      state.best_macro_f1 = evaluation.macro_f1;
      state.best_epoch = epoch;
      state.stale_epochs = 0;
      best = CopyState(*net);
    } else {
      ++state.stale_epochs;
    }
    state.history.push_back(
        {.epoch = epoch,
         .loss = loss_sum / static_cast<double>(std::max<int64_t>(1, seen)),
         .accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, seen)),
         .validation_macro_f1 = evaluation.macro_f1,
         .seconds = Seconds(epoch_start)});
    WriteCheckpoint(checkpoint_path, info, state, options.seed, net, optimizer, best);
    const double seconds_per_step =
        state.train_seconds / static_cast<double>(std::max<int64_t>(1, state.global_step));
    report({.epoch = epoch,
            .epochs = options.epochs,
            .step = steps_per_epoch,
            .steps = steps_per_epoch,
            .loss = state.history.back().loss,
            .accuracy = state.history.back().accuracy,
            .seconds_left = seconds_per_step * static_cast<double>(total_steps - state.global_step),
            .validation_macro_f1 = evaluation.macro_f1});
  }

  // Calibrate the best epoch's network on the validation set.
  RestoreState(*net, best);
  const std::vector<float> logits = ComputeLogits(net, validation_data, options.image_size, device);
  info.temperature = FitTemperature(logits, classes, validation_data.targets);
  const std::vector<float> probabilities = Softmax(logits, classes, info.temperature);
  info.thresholds = ThresholdsForPrecision(
      probabilities, classes, validation_data.targets, options.target_precision);

  TrainResult result;
  result.validation = Evaluate(validation_data.targets, probabilities, train.classes);
  result.best_epoch = state.best_epoch;
  result.epochs_run = state.epoch;
  result.seconds = Seconds(start_time);
  result.train_images_per_second =
      state.train_seconds > 0.0 ? static_cast<double>(state.images_seen) / state.train_seconds
                                : 0.0;

  Json class_counts = Json::object();
  for (size_t class_idx = 0; class_idx < classes; ++class_idx) {
    class_counts[train.classes[class_idx]] = counts.at(class_idx);
  }
  Json training = StateToJson(state, options.seed);
  training["train_items"] = train.items.size();
  training["validation_items"] = validation.items.size();
  training["class_counts"] = std::move(class_counts);
  training["options"] = {{"architecture", info.architecture},
                         {"epochs", options.epochs},
                         {"image_size", options.image_size},
                         {"channels", options.channels},
                         {"batch_size", options.batch_size},
                         {"learning_rate", options.learning_rate},
                         {"weight_decay", options.weight_decay},
                         {"label_smoothing", options.label_smoothing},
                         {"warmup_epochs", options.warmup_epochs},
                         {"patience", options.patience},
                         {"context", std::string(ContextModeName(options.context))},
                         {"seed", options.seed},
                         {"device", device.is_cpu() ? "cpu" : "cuda"},
                         {"threads", threads}};
  training["validation"] = {{"top1", result.validation.top1},
                            {"top5", result.validation.top5},
                            {"macro_f1", result.validation.macro_f1},
                            {"balanced_accuracy", result.validation.balanced_accuracy},
                            {"ece", result.validation.ece},
                            {"temperature", info.temperature},
                            // [true][predicted] over info.classes: what `report` uses to correct
                            // counts for this model's errors (docs/composition.md).
                            {"confusion", result.validation.confusion}};
  training["images_per_second"] = result.train_images_per_second;
  info.training_json = training.dump(2);
  info.created_at = NowUtcIso8601();
  info.phytoflow_version = std::string(Version());
  info.id = info.name + "-" + WeightsHash(*net);
  WriteModelFile(model_path, info, net);
  result.info = std::move(info);
  return result;
}

}  // namespace

TrainResult TrainModel(const Dataset& train,
                       const Dataset& validation,
                       const TrainOptions& options,
                       const std::filesystem::path& model_path) {
  try {
    return Train(train, validation, options, model_path);
  } catch (const c10::Error& error) {
    throw Error{ErrorCode::kInternal, "training failed: " + TorchMessage(error)};
  } catch (const std::filesystem::filesystem_error& error) {
    throw Error{ErrorCode::kUnavailable, std::string("training failed: ") + error.what()};
  }
}

}  // namespace phytoflow
