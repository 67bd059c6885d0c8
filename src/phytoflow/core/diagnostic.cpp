#include "phytoflow/core/diagnostic.h"

namespace phytoflow {

std::string Diagnostic::ToString() const {
  std::string text = file;
  if (line > 0) {
    text += ":" + std::to_string(line);
  }
  if (!field.empty()) {
    if (!text.empty()) {
      text += ": field '";
      text += field;
      text += "'";
    } else {
      text = field;
    }
  }
  if (!text.empty()) {
    text += ": ";
  }
  return text + message;
}

void Warn(Diagnostics& diagnostics,
          std::string file,
          int64_t line,
          std::string field,
          std::string message) {
  diagnostics.push_back(Diagnostic{.severity = Diagnostic::Severity::kWarning,
                                   .file = std::move(file),
                                   .line = line,
                                   .field = std::move(field),
                                   .message = std::move(message)});
}

}  // namespace phytoflow
