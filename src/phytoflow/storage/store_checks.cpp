#include "phytoflow/storage/store_checks.h"

#include "phytoflow/core/error.h"
#include "phytoflow/storage/store.h"

namespace phytoflow {

void CheckExpertLabels(const std::string& sample_id, std::span<const Label> labels) {
  if (labels.size() > kMaxExpertLabelsPerAppend) {
    throw Error(ErrorCode::kInvalidInput,
                "sample '" + sample_id + "': expected at most " +
                    std::to_string(kMaxExpertLabelsPerAppend) +
                    " expert labels in one append, found " + std::to_string(labels.size()));
  }
  for (const Label& label : labels) {
    if (label.source != kLabelSourceExpert) {
      throw Error(ErrorCode::kInvalidInput,
                  "AppendExpertLabels: expected labels of source 'expert', found '" + label.source +
                      "' for particle " + std::to_string(label.particle_number));
    }
  }
}

// "no particle 4, 9 (nothing was written)": at most this many numbers are listed.
constexpr size_t kMaxNumbersInMessage = 10;

std::string MissingParticlesMessage(const std::string& sample_id,
                                    const std::vector<int64_t>& missing) {
  std::string message = "sample '" + sample_id + "' has no particle ";
  for (size_t index = 0; index < missing.size() && index < kMaxNumbersInMessage; ++index) {
    message += (index > 0 ? ", " : "") + std::to_string(missing[index]);
  }
  if (missing.size() > kMaxNumbersInMessage) {
    message += " (and " + std::to_string(missing.size() - kMaxNumbersInMessage) + " more)";
  }
  return message + "; nothing was written";
}

}  // namespace phytoflow
