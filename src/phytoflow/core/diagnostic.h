#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace phytoflow {

// One located problem found in input data. Readers collect these instead of throwing for
// problems that need not end the operation (a missing collage, an unknown key).
struct Diagnostic {
  enum class Severity { kWarning, kError };

  Severity severity = Severity::kWarning;
  std::string file;     // as given by the caller, never made absolute
  int64_t line = 0;     // 1-based; 0 = the whole file
  std::string field;    // the column or key involved; empty = the whole line
  std::string message;  // what was expected and what was found

  // "file:line: field: message", omitting the parts that are unset.
  std::string ToString() const;
};

using Diagnostics = std::vector<Diagnostic>;

// Appends a warning to `diagnostics`.
void Warn(Diagnostics& diagnostics,
          std::string file,
          int64_t line,
          std::string field,
          std::string message);

}  // namespace phytoflow
