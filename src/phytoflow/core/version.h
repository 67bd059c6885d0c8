#pragma once

#include <string>
#include <string_view>

namespace phytoflow {

// The version of this build, "MAJOR.MINOR.PATCH".
std::string_view Version();

// Current time as ISO 8601 UTC with seconds, "2026-11-26T14:00:00Z".
std::string NowUtcIso8601();

}  // namespace phytoflow
