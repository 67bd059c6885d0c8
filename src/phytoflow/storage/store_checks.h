#pragma once

// Checks and messages that every Store backend applies the same way, so the backends agree on
// what they refuse and how they say it.

#include "phytoflow/core/label.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace phytoflow {

// What AppendExpertLabels refuses before it looks at the store: more than
// kMaxExpertLabelsPerAppend labels, or a label of another source than "expert".
void CheckExpertLabels(const std::string& sample_id, std::span<const Label> labels);

// "sample 'S' has no particle 4, 9; nothing was written" (at most 10 numbers listed).
std::string MissingParticlesMessage(const std::string& sample_id,
                                    const std::vector<int64_t>& missing);

}  // namespace phytoflow
