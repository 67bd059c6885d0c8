#include "phytoflow/core/error.h"

namespace phytoflow {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return "invalid_input";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

void Check(bool ok, ErrorCode code, std::string_view message, std::source_location where) {
  if (ok) {
    return;
  }
  std::string text(message);
#ifndef NDEBUG
  text += " [";
  text += where.file_name();
  text += ":";
  text += std::to_string(where.line());
  text += "]";
#else
  (void)where;
#endif
  throw Error(code, text);
}

}  // namespace phytoflow
