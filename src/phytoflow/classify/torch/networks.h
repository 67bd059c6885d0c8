#pragma once

// Private to classify/torch/: the networks, written with torch::nn. Includes LibTorch, so only
// the .cpp files of this folder (and its test and benchmark) may include it.
//
//   ArchitectureSpec spec = ParseArchitecture("mobilenet:width=1.0,depth=1");
//   ClassifierNet net(spec, /*in_channels=*/3, /*context_inputs=*/18, /*classes=*/3);
//   torch::Tensor logits = net->forward(images, context);  // [N, classes]

#include <cstdint>
#include <string>
#include <string_view>

#include <torch/torch.h>

namespace phytoflow {

enum class NetworkKind { kResNet, kMobileNet };
enum class Activation { kRelu, kRelu6, kSilu };

// A parsed architecture string, e.g. "resnet:width=32,depth=1" or
// "mobilenet:width=1.0,depth=1,se=1,act=silu,dropout=0.2".
struct ArchitectureSpec {
  NetworkKind kind = NetworkKind::kMobileNet;
  // resnet: channels of the first stage (the stages double it); mobilenet: channel multiplier.
  double width = 1.0;
  // resnet: residual blocks per stage; mobilenet: multiplier of the blocks per stage.
  double depth = 1.0;
  bool squeeze_excitation = true;  // mobilenet only
  Activation activation = Activation::kSilu;
  double dropout = 0.2;  // before the classification layer

  // The string that ParseArchitecture turns back into this spec, every parameter spelled out.
  std::string Canonical() const;
};

// Parses "resnet" or "mobilenet" with optional ":key=value,..." parameters. Throws
// Error{kInvalidInput} naming the offending part and what was expected.
ArchitectureSpec ParseArchitecture(std::string_view text);

// Convolution, batch norm and an optional activation: the brick of both backbones (a module of
// its own because nn::Sequential cannot nest).
class ConvBnActImpl : public torch::nn::Module {
 public:
  ConvBnActImpl(int64_t in_channels,
                int64_t out_channels,
                int64_t kernel,
                int64_t stride,
                int64_t groups,
                bool activate,
                Activation activation);
  torch::Tensor forward(torch::Tensor x);
  // Zero batch-norm scale: a residual branch that starts as the identity trains better from
  // scratch.
  void ZeroInitScale();

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  bool activate_;
  Activation activation_;
};
TORCH_MODULE(ConvBnAct);

// Late fusion: the CNN embedding (global average pool) concatenated with an MLP embedding of
// the encoded context, then dropout and a linear layer.
class ClassifierNetImpl : public torch::nn::Module {
 public:
  ClassifierNetImpl(const ArchitectureSpec& spec,
                    int64_t in_channels,
                    int64_t context_inputs,
                    int64_t classes);

  // images [N, C, H, W] (any H, W ≥ 16); context [N, context_inputs], ignored (may be
  // undefined) when the network has no context input. Returns logits [N, classes].
  torch::Tensor forward(torch::Tensor images, torch::Tensor context);

  int64_t ContextInputs() const { return context_inputs_; }
  int64_t EmbeddingSize() const { return image_features_ + context_features_; }

 private:
  int64_t context_inputs_ = 0;
  int64_t image_features_ = 0;
  int64_t context_features_ = 0;
  torch::nn::Sequential backbone_{nullptr};
  torch::nn::Sequential context_mlp_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(ClassifierNet);

// Stores 4-D parameters as channels-last, which makes oneDNN convolutions on the CPU 25–40 %
// faster (nn::Module has no to(memory_format)). Call again after loading weights.
void ToChannelsLast(torch::nn::Module& module);

}  // namespace phytoflow
