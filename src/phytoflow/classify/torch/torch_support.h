#pragma once

// Private to classify/torch/: what training and inference share — device choice, the model
// file, weights hashing and tensor helpers. Includes LibTorch.

#include "phytoflow/classify/model_info.h"
#include "phytoflow/classify/torch/networks.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace phytoflow {

// Version of the model file layout; files with another version are refused.
inline constexpr int64_t kModelFormatVersion = 1;
inline constexpr const char* kModelFormatName = "phytoflow-model";

// "auto" → CUDA when available, else CPU; "cpu"; "cuda" (Error{kUnavailable} without CUDA).
// On the CPU sets LibTorch's thread count (threads, or every core when 0): LibTorch defaults
// to 1 thread on some machines.
torch::Device SelectDevice(const std::string& device, int threads);

// The network a ModelInfo describes, freshly initialised, on the CPU.
ClassifierNet MakeNetwork(const ModelInfo& info);

// Prepares a network for `device`: moves it, and uses channels-last on the CPU.
void PlaceNetwork(ClassifierNet& net, const torch::Device& device);

// ModelInfo ↔ JSON text (the metadata part of a model file).
std::string ModelInfoToJson(const ModelInfo& info);
// Throws Error{kInvalidInput} naming `source` when the JSON is not a ModelInfo.
ModelInfo ModelInfoFromJson(const std::string& json, const std::string& source);

// 12 hex digits of a hash of every parameter and buffer (layout-independent).
std::string WeightsHash(torch::nn::Module& module);

// Writes the one model file: format name and version, ModelInfo as JSON, weights.
void WriteModelFile(const std::filesystem::path& path, const ModelInfo& info, ClassifierNet& net);

struct LoadedModel {
  ModelInfo info;
  ClassifierNet net{nullptr};  // null when weights were not requested
};
// Reads a model file on the CPU. Throws Error{kNotFound} when missing and Error{kInvalidInput}
// when it is not a phytoflow model or has an unknown format version.
LoadedModel ReadModelFile(const std::filesystem::path& path, bool with_weights);

// One of the 8 symmetries of the square on images [N, C, S, S]: bit 0 flips left-right, bit 1
// flips top-bottom, bit 2 transposes.
torch::Tensor Dihedral(const torch::Tensor& images, int transform);

// Copies of every parameter and buffer, and back (for keeping the best epoch's weights).
std::vector<torch::Tensor> CopyState(torch::nn::Module& module);
void RestoreState(torch::nn::Module& module, const std::vector<torch::Tensor>& state);

// Writes a c10::Error's message without LibTorch's C++ backtrace.
std::string TorchMessage(const c10::Error& error);

// Checks the "format" / "format_version" entries every phytoflow archive starts with. `what`
// names the kind for messages ("model file", "checkpoint"). Throws Error{kInvalidInput}.
void CheckArchiveFormat(torch::serialize::InputArchive& archive,
                        const std::string& source,
                        const std::string& format_name,
                        int64_t format_version,
                        const std::string& what);

}  // namespace phytoflow
