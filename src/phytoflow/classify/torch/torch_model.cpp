// The model file, device choice and the Classifier over a trained network.

#include "phytoflow/classify/torch/torch_model.h"

#include "phytoflow/classify/calibration.h"
#include "phytoflow/classify/preprocess.h"
#include "phytoflow/classify/torch/torch_support.h"
#include "phytoflow/core/error.h"
#include "phytoflow/core/parallel.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

using Json = nlohmann::json;

void Hash(uint64_t& state, const void* data, size_t size) {
  // FNV-1a: stable across platforms and versions, which std::hash is not.
  constexpr uint64_t kPrime = 1099511628211ULL;
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t byte_idx = 0; byte_idx < size; ++byte_idx) {
    state = (state ^ bytes[byte_idx]) * kPrime;
  }
}

void HashTensors(uint64_t& state, const torch::OrderedDict<std::string, torch::Tensor>& tensors) {
  for (const auto& item : tensors) {
    Hash(state, item.key().data(), item.key().size());
    const torch::Tensor value = item.value().detach().to(torch::kCPU).contiguous();
    Hash(state, value.data_ptr(), static_cast<size_t>(value.numel()) * value.element_size());
  }
}

template <typename T>
T Field(const Json& json, const char* key, const std::string& source) {
  const auto found = json.find(key);
  if (found == json.end()) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": model metadata lacks '" + std::string(key) + "'"};
  }
  try {
    return found->get<T>();
  } catch (const Json::exception& error) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": model metadata field '" + std::string(key) + "': " + error.what()};
  }
}

class TorchClassifier final : public Classifier {
 public:
  TorchClassifier(LoadedModel model, torch::Device device, const ClassifierOptions& options)
      : info_(std::move(model.info)),
        net_(std::move(model.net)),
        device_(device),
        options_(options) {
    PlaceNetwork(net_, device_);
    net_->eval();
  }

  std::vector<float> Probabilities(std::span<const Image> images,
                                   std::span<const ParticleContext> contexts) override {
    if (!contexts.empty() && contexts.size() != images.size()) {
      throw Error{ErrorCode::kInvalidInput,
                  "expected no contexts or one per image (" + std::to_string(images.size()) +
                      "), got " + std::to_string(contexts.size())};
    }
    // One network, one caller at a time: LibTorch modules are not meant for concurrent
    // forward passes, and the intra-op threads already use every core.
    const std::lock_guard lock(mutex_);
    const size_t classes = info_.classes.size();
    std::vector<float> probabilities;
    probabilities.reserve(images.size() * classes);
    const auto batch_size = static_cast<size_t>(std::max(1, options_.batch_size));
    for (size_t start = 0; start < images.size(); start += batch_size) {
      const size_t count = std::min(batch_size, images.size() - start);
      const std::vector<float> batch =
          BatchProbabilities(images.subspan(start, count),
                             contexts.empty() ? contexts : contexts.subspan(start, count));
      probabilities.insert(probabilities.end(), batch.begin(), batch.end());
    }
    return probabilities;
  }

  const ModelInfo& Info() const override { return info_; }

 private:
  std::vector<float> BatchProbabilities(std::span<const Image> images,
                                        std::span<const ParticleContext> contexts) {
    const auto count = static_cast<int64_t>(images.size());
    const int64_t channels = info_.preprocess.channels;
    const int64_t size = info_.preprocess.image_size;
    const int64_t pixels = channels * size * size;
    torch::Tensor input = torch::empty({count, channels, size, size});
    float* input_data = input.data_ptr<float>();
    for (int64_t image_idx = 0; image_idx < count; ++image_idx) {
      const std::vector<float> chw =
          PreprocessImage(images[static_cast<size_t>(image_idx)], info_.preprocess);
      if (static_cast<int64_t>(chw.size()) != pixels) {
        throw Error{ErrorCode::kInternal,
                    "preprocessing gave " + std::to_string(chw.size()) + " values, expected " +
                        std::to_string(pixels)};
      }
      std::memcpy(input_data + image_idx * pixels, chw.data(), chw.size() * sizeof(float));
    }
    torch::Tensor context;
    const auto context_inputs = static_cast<int64_t>(info_.context.InputSize());
    if (context_inputs > 0) {
      context = torch::empty({count, context_inputs});
      float* context_data = context.data_ptr<float>();
      const ParticleContext unknown;
      for (int64_t image_idx = 0; image_idx < count; ++image_idx) {
        const std::vector<float> encoded = EncodeContext(
            contexts.empty() ? unknown : contexts[static_cast<size_t>(image_idx)], info_.context);
        std::copy(encoded.begin(), encoded.end(), context_data + image_idx * context_inputs);
      }
    }

    const size_t classes = info_.classes.size();
    const int transforms = options_.test_time_augmentation ? 8 : 1;
    std::vector<float> mean(static_cast<size_t>(count) * classes, 0.0F);
    try {
      const c10::InferenceMode inference;
      if (device_.is_cpu()) {
        input = input.contiguous(torch::MemoryFormat::ChannelsLast);
      } else {
        input = input.to(device_);
        context = context.defined() ? context.to(device_) : context;
      }
      for (int transform = 0; transform < transforms; ++transform) {
        const torch::Tensor logits =
            net_->forward(Dihedral(input, transform), context).to(torch::kCPU).contiguous();
        const std::vector<float> probabilities =
            Softmax(std::span<const float>(logits.data_ptr<float>(), mean.size()),
                    classes,
                    info_.temperature);
        for (size_t value_idx = 0; value_idx < mean.size(); ++value_idx) {
          mean[value_idx] += probabilities[value_idx] / static_cast<float>(transforms);
        }
      }
    } catch (const c10::Error& error) {
      throw Error{ErrorCode::kUnavailable, "classification failed: " + TorchMessage(error)};
    }
    return mean;
  }

  ModelInfo info_;
  ClassifierNet net_;
  torch::Device device_;
  ClassifierOptions options_;
  std::mutex mutex_;
};

}  // namespace

std::string TorchMessage(const c10::Error& error) {
  return error.what_without_backtrace();
}

torch::Device SelectDevice(const std::string& device, int threads) {
  if (device != "auto" && device != "cpu" && device != "cuda") {
    throw Error{ErrorCode::kInvalidInput,
                "device must be auto, cpu or cuda, found '" + device + "'"};
  }
  at::set_num_threads(threads > 0 ? threads : DefaultThreadCount());
  const bool cuda = torch::cuda::is_available();
  if (device == "cuda" && !cuda) {
    throw Error{ErrorCode::kUnavailable, "device 'cuda' requested but CUDA is not available"};
  }
  if (device != "cpu" && cuda) {
    at::globalContext().setBenchmarkCuDNN(true);  // fixed input sizes: let cuDNN pick kernels
    return torch::Device(torch::kCUDA);
  }
  return torch::Device(torch::kCPU);
}

ClassifierNet MakeNetwork(const ModelInfo& info) {
  const ArchitectureSpec spec = ParseArchitecture(info.architecture);
  return ClassifierNet(spec,
                       info.preprocess.channels,
                       static_cast<int64_t>(info.context.InputSize()),
                       static_cast<int64_t>(info.classes.size()));
}

void PlaceNetwork(ClassifierNet& net, const torch::Device& device) {
  net->to(device);
  if (device.is_cpu()) {
    ToChannelsLast(*net);
  }
}

std::string ModelInfoToJson(const ModelInfo& info) {
  Json classes = Json::array();
  for (const ModelClass& model_class : info.classes) {
    Json entry = {{"name", model_class.name}};
    entry["aphia_id"] = model_class.aphia_id ? Json(*model_class.aphia_id) : Json(nullptr);
    classes.push_back(std::move(entry));
  }
  Json training = Json::parse(info.training_json, nullptr, /*allow_exceptions=*/false);
  if (training.is_discarded()) {
    training = info.training_json.empty() ? Json(nullptr) : Json(info.training_json);
  }
  const Json json = {
      {"id", info.id},
      {"name", info.name},
      {"architecture", info.architecture},
      {"classes", std::move(classes)},
      {"preprocess",
       {{"image_size", info.preprocess.image_size}, {"channels", info.preprocess.channels}}},
      {"context",
       {{"mode", std::string(ContextModeName(info.context.mode))},
        {"size_unit", info.context.size_unit},
        {"features", info.context.features},
        {"mean", info.context.mean},
        {"scale", info.context.scale}}},
      {"temperature", info.temperature},
      {"target_precision", info.target_precision},
      {"thresholds", info.thresholds},
      {"created_at", info.created_at},
      {"phytoflow_version", info.phytoflow_version},
      {"training", std::move(training)},
  };
  return json.dump(2);
}

ModelInfo ModelInfoFromJson(const std::string& text, const std::string& source) {
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    throw Error{ErrorCode::kInvalidInput, source + ": model metadata is not a JSON object"};
  }
  ModelInfo info;
  info.id = Field<std::string>(json, "id", source);
  info.name = Field<std::string>(json, "name", source);
  info.architecture = Field<std::string>(json, "architecture", source);
  for (const Json& entry : Field<Json>(json, "classes", source)) {
    ModelClass model_class{.name = Field<std::string>(entry, "name", source)};
    const auto aphia = entry.find("aphia_id");
    if (aphia != entry.end() && aphia->is_number_integer()) {
      model_class.aphia_id = aphia->get<int64_t>();
    }
    info.classes.push_back(std::move(model_class));
  }
  const Json preprocess = Field<Json>(json, "preprocess", source);
  info.preprocess.image_size = Field<int>(preprocess, "image_size", source);
  info.preprocess.channels = Field<int>(preprocess, "channels", source);
  const Json context = Field<Json>(json, "context", source);
  info.context.mode = ParseContextMode(Field<std::string>(context, "mode", source));
  info.context.size_unit = Field<std::string>(context, "size_unit", source);
  info.context.features = Field<std::vector<std::string>>(context, "features", source);
  info.context.mean = Field<std::vector<float>>(context, "mean", source);
  info.context.scale = Field<std::vector<float>>(context, "scale", source);
  info.temperature = Field<double>(json, "temperature", source);
  info.target_precision = Field<double>(json, "target_precision", source);
  info.thresholds = Field<std::vector<double>>(json, "thresholds", source);
  info.created_at = Field<std::string>(json, "created_at", source);
  info.phytoflow_version = Field<std::string>(json, "phytoflow_version", source);
  const auto training = json.find("training");
  if (training != json.end() && !training->is_null()) {
    info.training_json = training->is_string() ? training->get<std::string>() : training->dump(2);
  }
  const size_t classes = info.classes.size();
  if (classes == 0 || info.thresholds.size() != classes ||
      info.context.mean.size() != info.context.features.size() ||
      info.context.scale.size() != info.context.features.size() ||
      (info.preprocess.channels != 1 && info.preprocess.channels != 3) ||
      info.preprocess.image_size < 8 || !(info.temperature > 0.0)) {
    throw Error{ErrorCode::kInvalidInput,
                source +
                    ": inconsistent model metadata (classes, thresholds, context or "
                    "preprocessing sizes disagree)"};
  }
  return info;
}

std::string WeightsHash(torch::nn::Module& module) {
  uint64_t state = 14695981039346656037ULL;  // FNV offset basis
  HashTensors(state, module.named_parameters());
  HashTensors(state, module.named_buffers());
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(state));
  return std::string(hex, 12);
}

void WriteModelFile(const std::filesystem::path& path, const ModelInfo& info, ClassifierNet& net) {
  // Written next to the target and renamed, so a crash never leaves half a model behind.
  std::filesystem::path partial = path;
  partial += ".partial";
  try {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(kModelFormatName)));
    archive.write("format_version", c10::IValue(kModelFormatVersion));
    archive.write("info", c10::IValue(ModelInfoToJson(info)));
    torch::serialize::OutputArchive weights(archive.compilation_unit());
    net->save(weights);
    archive.write("weights", weights);
    archive.save_to(partial.string());
  } catch (const c10::Error& error) {
    throw Error{ErrorCode::kUnavailable,
                "cannot write model file " + path.string() + ": " + TorchMessage(error)};
  }
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error) {
    throw Error{ErrorCode::kUnavailable,
                "cannot write model file " + path.string() + ": " + error.message()};
  }
}

LoadedModel ReadModelFile(const std::filesystem::path& path, bool with_weights) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error{ErrorCode::kNotFound, "model file not found: " + path.string()};
  }
  const std::string source = path.string();
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(source, torch::Device(torch::kCPU));
  } catch (const c10::Error& error) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": not a phytoflow model file (" + TorchMessage(error) + ")"};
  }
  LoadedModel model;
  try {
    CheckArchiveFormat(archive, source, kModelFormatName, kModelFormatVersion, "model file");
    c10::IValue info;
    archive.read("info", info);
    if (!info.isString()) {
      throw Error{ErrorCode::kInvalidInput, source + ": model metadata is not a string"};
    }
    model.info = ModelInfoFromJson(info.toStringRef(), source);
    if (with_weights) {
      model.net = MakeNetwork(model.info);
      torch::serialize::InputArchive weights;
      archive.read("weights", weights);
      model.net->load(weights);
    }
  } catch (const c10::Error& error) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": cannot read the model (" + TorchMessage(error) + ")"};
  }
  return model;
}

torch::Tensor Dihedral(const torch::Tensor& images, int transform) {
  torch::Tensor result = images;
  if ((transform & 4) != 0) {
    result = result.transpose(2, 3);
  }
  if ((transform & 1) != 0) {
    result = result.flip({3});
  }
  if ((transform & 2) != 0) {
    result = result.flip({2});
  }
  return result;
}

std::vector<torch::Tensor> CopyState(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> state;
  for (const torch::Tensor& parameter : module.parameters()) {
    state.push_back(parameter.detach().clone());
  }
  for (const torch::Tensor& buffer : module.buffers()) {
    state.push_back(buffer.detach().clone());
  }
  return state;
}

void RestoreState(torch::nn::Module& module, const std::vector<torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  size_t state_idx = 0;
  for (torch::Tensor& parameter : module.parameters()) {
    parameter.copy_(state.at(state_idx++));
  }
  for (torch::Tensor& buffer : module.buffers()) {
    buffer.copy_(state.at(state_idx++));
  }
}

std::unique_ptr<Classifier> OpenTorchClassifier(const std::filesystem::path& model_path,
                                                const ClassifierOptions& options) {
  const torch::Device device = SelectDevice(options.device, options.threads);
  LoadedModel model = ReadModelFile(model_path, /*with_weights=*/true);
  try {
    return std::make_unique<TorchClassifier>(std::move(model), device, options);
  } catch (const c10::Error& error) {
    throw Error{ErrorCode::kUnavailable,
                "cannot load " + model_path.string() + ": " + TorchMessage(error)};
  }
}

ModelInfo ReadModelInfo(const std::filesystem::path& model_path) {
  return ReadModelFile(model_path, /*with_weights=*/false).info;
}

void CheckArchiveFormat(torch::serialize::InputArchive& archive,
                        const std::string& source,
                        const std::string& format_name,
                        int64_t format_version,
                        const std::string& what) {
  c10::IValue format;
  c10::IValue version;
  if (!archive.try_read("format", format) || !format.isString() ||
      format.toStringRef() != format_name || !archive.try_read("format_version", version) ||
      !version.isInt()) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": not a phytoflow " + what + " (no '" + format_name + "' format marker)"};
  }
  if (version.toInt() != format_version) {
    throw Error{ErrorCode::kInvalidInput,
                source + ": " + what + " format version " + std::to_string(version.toInt()) +
                    " is not supported; this build reads version " +
                    std::to_string(format_version)};
  }
}

}  // namespace phytoflow
