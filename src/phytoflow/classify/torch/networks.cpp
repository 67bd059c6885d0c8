#include "phytoflow/classify/torch/networks.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace phytoflow {
namespace {

torch::Tensor Activate(torch::Tensor x, Activation activation) {
  switch (activation) {
    case Activation::kRelu:
      return torch::relu_(x);
    case Activation::kRelu6:
      return torch::hardtanh_(x, 0.0, 6.0);
    case Activation::kSilu:
      return torch::silu(x);  // not in place: its backward needs the input
  }
  return x;
}

std::string_view ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kRelu:
      return "relu";
    case Activation::kRelu6:
      return "relu6";
    case Activation::kSilu:
      return "silu";
  }
  return "relu";
}

// Channel counts rounded to a multiple of 8, never more than 10 % below the requested value
// (the MobileNet rule): SIMD kernels like multiples of 8.
int64_t MakeDivisible(double value) {
  constexpr int64_t kDivisor = 8;
  int64_t rounded = std::max<int64_t>(
      kDivisor, (static_cast<int64_t>(value + kDivisor / 2.0) / kDivisor) * kDivisor);
  if (static_cast<double>(rounded) < 0.9 * value) {
    rounded += kDivisor;
  }
  return rounded;
}

// Channel attention: global pool, bottleneck, sigmoid gate.
class SqueezeExciteImpl : public torch::nn::Module {
 public:
  SqueezeExciteImpl(int64_t channels, int64_t reduced)
      : reduce_(register_module("reduce",
                                torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, reduced, 1)))),
        expand_(register_module(
            "expand", torch::nn::Conv2d(torch::nn::Conv2dOptions(reduced, channels, 1)))) {}

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor scale = x.mean({2, 3}, /*keepdim=*/true);
    scale = torch::sigmoid(expand_->forward(torch::relu(reduce_->forward(scale))));
    return x * scale;
  }

 private:
  torch::nn::Conv2d reduce_;
  torch::nn::Conv2d expand_;
};
TORCH_MODULE(SqueezeExcite);

// MobileNetV2 block: 1×1 expansion, 3×3 depthwise, optional squeeze-excitation, linear 1×1
// projection, identity shortcut when the shape allows it.
class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in_channels,
                       int64_t out_channels,
                       int64_t stride,
                       int64_t expansion,
                       bool squeeze_excitation,
                       Activation activation)
      : shortcut_(stride == 1 && in_channels == out_channels) {
    const int64_t hidden = in_channels * expansion;
    if (expansion != 1) {
      expand_ = register_module(
          "expand", ConvBnAct(in_channels, hidden, 1, 1, 1, /*activate=*/true, activation));
    }
    depthwise_ = register_module(
        "depthwise", ConvBnAct(hidden, hidden, 3, stride, hidden, /*activate=*/true, activation));
    if (squeeze_excitation) {
      se_ = register_module("se", SqueezeExcite(hidden, std::max<int64_t>(8, in_channels / 4)));
    }
    project_ = register_module(
        "project", ConvBnAct(hidden, out_channels, 1, 1, 1, /*activate=*/false, activation));
    if (shortcut_) {
      project_->ZeroInitScale();
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = expand_ ? expand_->forward(x) : x;
    y = depthwise_->forward(y);
    if (se_) {
      y = se_->forward(y);
    }
    y = project_->forward(y);
    return shortcut_ ? y + x : y;
  }

 private:
  bool shortcut_;
  ConvBnAct expand_{nullptr};
  ConvBnAct depthwise_{nullptr};
  SqueezeExcite se_{nullptr};
  ConvBnAct project_{nullptr};
};
TORCH_MODULE(InvertedResidual);

// ResNet basic block: two 3×3 convolutions with a shortcut (1×1 projection when the shape
// changes).
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride, Activation activation)
      : activation_(activation) {
    first_ = register_module(
        "first", ConvBnAct(in_channels, out_channels, 3, stride, 1, /*activate=*/true, activation));
    second_ = register_module(
        "second", ConvBnAct(out_channels, out_channels, 3, 1, 1, /*activate=*/false, activation));
    second_->ZeroInitScale();
    if (stride != 1 || in_channels != out_channels) {
      projection_ = register_module(
          "projection",
          ConvBnAct(in_channels, out_channels, 1, stride, 1, /*activate=*/false, activation));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor shortcut = projection_ ? projection_->forward(x) : x;
    return Activate(second_->forward(first_->forward(x)) + shortcut, activation_);
  }

 private:
  Activation activation_;
  ConvBnAct first_{nullptr};
  ConvBnAct second_{nullptr};
  ConvBnAct projection_{nullptr};
};
TORCH_MODULE(BasicBlock);

// MobileNetV2's table shortened for 64-px vignettes: four stride-2 steps (stem included) take
// 64 px to 4 px. {expansion, channels, blocks, stride, squeeze-excitation}.
struct MobileStage {
  int64_t expansion;
  int64_t channels;
  int64_t blocks;
  int64_t stride;
  bool se;
};
constexpr MobileStage kMobileStages[] = {
    {1, 16, 1, 1, false},
    {4, 24, 2, 2, false},
    {4, 40, 2, 2, true},
    {4, 80, 3, 2, true},
    {6, 112, 2, 1, true},
};
constexpr int64_t kMobileStemChannels = 16;
constexpr int64_t kMobileHeadChannels = 384;
// Context MLP sizes: small, the context has at most a few dozen inputs.
constexpr int64_t kContextHidden = 64;
constexpr int64_t kContextFeatures = 32;

torch::nn::Sequential MobileNetBackbone(const ArchitectureSpec& spec,
                                        int64_t in_channels,
                                        int64_t* out_channels) {
  torch::nn::Sequential backbone;
  int64_t channels = MakeDivisible(kMobileStemChannels * spec.width);
  backbone->push_back(
      ConvBnAct(in_channels, channels, 3, 2, 1, /*activate=*/true, spec.activation));
  for (const MobileStage& stage : kMobileStages) {
    const int64_t stage_channels = MakeDivisible(stage.channels * spec.width);
    const int64_t blocks =
        std::max<int64_t>(1, std::llround(static_cast<double>(stage.blocks) * spec.depth));
    for (int64_t block_idx = 0; block_idx < blocks; ++block_idx) {
      backbone->push_back(InvertedResidual(channels,
                                           stage_channels,
                                           block_idx == 0 ? stage.stride : 1,
                                           stage.expansion,
                                           stage.se && spec.squeeze_excitation,
                                           spec.activation));
      channels = stage_channels;
    }
  }
  const int64_t head =
      std::max(kMobileHeadChannels, MakeDivisible(kMobileHeadChannels * spec.width));
  backbone->push_back(ConvBnAct(channels, head, 1, 1, 1, /*activate=*/true, spec.activation));
  *out_channels = head;
  return backbone;
}

// Stride-2 stem, then four stages of `depth` basic blocks with widths w, 2w, 4w, 8w; the
// last three start with stride 2 (64 px → 32 → 32 → 16 → 8 → 4).
torch::nn::Sequential ResNetBackbone(const ArchitectureSpec& spec,
                                     int64_t in_channels,
                                     int64_t* out_channels) {
  torch::nn::Sequential backbone;
  const auto width = static_cast<int64_t>(spec.width);
  const auto depth = static_cast<int64_t>(spec.depth);
  backbone->push_back(ConvBnAct(in_channels, width, 3, 2, 1, /*activate=*/true, spec.activation));
  int64_t channels = width;
  for (int64_t stage_idx = 0; stage_idx < 4; ++stage_idx) {
    const int64_t stage_channels = width << stage_idx;
    for (int64_t block_idx = 0; block_idx < depth; ++block_idx) {
      const int64_t stride = (stage_idx > 0 && block_idx == 0) ? 2 : 1;
      backbone->push_back(BasicBlock(channels, stage_channels, stride, spec.activation));
      channels = stage_channels;
    }
  }
  *out_channels = channels;
  return backbone;
}

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

double ParseNumber(std::string_view text, std::string_view key, std::string_view architecture) {
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
    throw Error{ErrorCode::kInvalidInput,
                "architecture '" + std::string(architecture) + "': expected a number for '" +
                    std::string(key) + "', found '" + std::string(text) + "'"};
  }
  return value;
}

void CheckRange(double value,
                double low,
                double high,
                bool integer,
                std::string_view key,
                std::string_view architecture) {
  if (value < low || value > high || (integer && value != std::floor(value))) {
    throw Error{ErrorCode::kInvalidInput,
                "architecture '" + std::string(architecture) + "': '" + std::string(key) +
                    "' must be " + (integer ? "an integer" : "a number") + " in [" +
                    FormatNumber(low) + ", " + FormatNumber(high) + "], found " +
                    FormatNumber(value)};
  }
}

}  // namespace

ConvBnActImpl::ConvBnActImpl(int64_t in_channels,
                             int64_t out_channels,
                             int64_t kernel,
                             int64_t stride,
                             int64_t groups,
                             bool activate,
                             Activation activation)
    : activate_(activate), activation_(activation) {
  conv_ =
      register_module("conv",
                      torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel)
                                            .stride(stride)
                                            .padding(kernel / 2)
                                            .groups(groups)
                                            .bias(false)));
  bn_ = register_module("bn", torch::nn::BatchNorm2d(out_channels));
  torch::nn::init::kaiming_normal_(conv_->weight, 0.0, torch::kFanOut, torch::kReLU);
}

void ConvBnActImpl::ZeroInitScale() {
  torch::NoGradGuard no_grad;
  bn_->weight.zero_();
}

torch::Tensor ConvBnActImpl::forward(torch::Tensor x) {
  x = bn_->forward(conv_->forward(x));
  return activate_ ? Activate(x, activation_) : x;
}

ClassifierNetImpl::ClassifierNetImpl(const ArchitectureSpec& spec,
                                     int64_t in_channels,
                                     int64_t context_inputs,
                                     int64_t classes)
    : context_inputs_(context_inputs) {
  backbone_ = register_module("backbone",
                              spec.kind == NetworkKind::kResNet
                                  ? ResNetBackbone(spec, in_channels, &image_features_)
                                  : MobileNetBackbone(spec, in_channels, &image_features_));
  if (context_inputs > 0) {
    context_mlp_ =
        register_module("context",
                        torch::nn::Sequential(torch::nn::Linear(context_inputs, kContextHidden),
                                              torch::nn::ReLU(),
                                              torch::nn::Linear(kContextHidden, kContextFeatures),
                                              torch::nn::ReLU()));
    context_features_ = kContextFeatures;
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(spec.dropout));
  head_ = register_module("head", torch::nn::Linear(EmbeddingSize(), classes));
  torch::nn::init::normal_(head_->weight, 0.0, 0.01);
  torch::nn::init::zeros_(head_->bias);
}

torch::Tensor ClassifierNetImpl::forward(torch::Tensor images, torch::Tensor context) {
  torch::Tensor features = backbone_->forward(images).mean({2, 3});
  if (context_mlp_) {
    TORCH_CHECK(context.defined() && context.dim() == 2 && context.size(1) == context_inputs_,
                "expected a context tensor [N, ",
                context_inputs_,
                "], got ",
                context.defined() ? context.sizes() : torch::IntArrayRef{});
    features = torch::cat({features, context_mlp_->forward(context)}, 1);
  }
  return head_->forward(dropout_->forward(features));
}

void ToChannelsLast(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& parameter : module.parameters()) {
    if (parameter.dim() == 4) {
      parameter.set_data(parameter.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
}

std::string ArchitectureSpec::Canonical() const {
  std::string text = kind == NetworkKind::kResNet ? "resnet:" : "mobilenet:";
  text += "width=" + FormatNumber(width) + ",depth=" + FormatNumber(depth);
  if (kind == NetworkKind::kMobileNet) {
    text += squeeze_excitation ? ",se=1" : ",se=0";
  }
  text += ",act=" + std::string(ActivationName(activation));
  text += ",dropout=" + FormatNumber(dropout);
  return text;
}

ArchitectureSpec ParseArchitecture(std::string_view text) {
  const size_t colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  ArchitectureSpec spec;
  if (name == "resnet") {
    spec = {.kind = NetworkKind::kResNet,
            .width = 32,
            .depth = 1,
            .squeeze_excitation = false,
            .activation = Activation::kRelu};
  } else if (name == "mobilenet") {
    spec = {.kind = NetworkKind::kMobileNet};
  } else {
    throw Error{ErrorCode::kInvalidInput,
                "unknown architecture '" + std::string(name) +
                    "': expected 'resnet' or 'mobilenet', optionally followed by "
                    "':width=...,depth=...'"};
  }
  if (colon == std::string_view::npos) {
    return spec;
  }
  const bool resnet = spec.kind == NetworkKind::kResNet;
  std::string_view rest = text.substr(colon + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const size_t equals = part.find('=');
    if (equals == std::string_view::npos) {
      throw Error{ErrorCode::kInvalidInput,
                  "architecture '" + std::string(text) + "': expected 'key=value', found '" +
                      std::string(part) + "'"};
    }
    const std::string_view key = part.substr(0, equals);
    const std::string_view value = part.substr(equals + 1);
    if (key == "width") {
      spec.width = ParseNumber(value, key, text);
      if (resnet) {
        CheckRange(spec.width, 4, 512, /*integer=*/true, key, text);
      } else {
        CheckRange(spec.width, 0.1, 4.0, /*integer=*/false, key, text);
      }
    } else if (key == "depth") {
      spec.depth = ParseNumber(value, key, text);
      if (resnet) {
        CheckRange(spec.depth, 1, 8, /*integer=*/true, key, text);
      } else {
        CheckRange(spec.depth, 0.25, 4.0, /*integer=*/false, key, text);
      }
    } else if (key == "dropout") {
      spec.dropout = ParseNumber(value, key, text);
      CheckRange(spec.dropout, 0.0, 0.9, /*integer=*/false, key, text);
    } else if (key == "act") {
      if (value == "relu") {
        spec.activation = Activation::kRelu;
      } else if (value == "relu6") {
        spec.activation = Activation::kRelu6;
      } else if (value == "silu") {
        spec.activation = Activation::kSilu;
      } else {
        throw Error{ErrorCode::kInvalidInput,
                    "architecture '" + std::string(text) +
                        "': 'act' must be relu, relu6 or silu, found '" + std::string(value) + "'"};
      }
    } else if (key == "se" && !resnet) {
      if (value != "0" && value != "1") {
        throw Error{ErrorCode::kInvalidInput,
                    "architecture '" + std::string(text) + "': 'se' must be 0 or 1, found '" +
                        std::string(value) + "'"};
      }
      spec.squeeze_excitation = value == "1";
    } else {
      throw Error{
          ErrorCode::kInvalidInput,
          "architecture '" + std::string(text) + "': unknown parameter '" + std::string(key) +
              "'; expected " +
              (resnet ? "width, depth, act or dropout" : "width, depth, se, act or dropout")};
    }
  }
  return spec;
}

}  // namespace phytoflow
