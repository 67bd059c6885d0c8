#pragma once

#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>

namespace phytoflow {

// What kind of failure ended an operation. The CLI maps each to an exit code and the HTTP layer
// to a status, so the set is small and stable.
enum class ErrorCode {
  kInvalidInput,  // bad user input or a malformed file: the caller can fix it
  kNotFound,      // a named sample, file or path does not exist
  kConflict,      // the operation clashes with what is stored
  kUnavailable,   // a resource (database, disk) cannot be used right now
  kInternal,      // a bug or an unexpected library failure
};

// Short machine-readable name of a code: "invalid_input", "not_found", ...
std::string_view ErrorCodeName(ErrorCode code);

// The one exception type that phytoflow throws for failures that end an operation.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode Code() const { return code_; }

 private:
  ErrorCode code_;
};

// Throws Error{code, message} when `ok` is false. In debug builds the message names the
// source location of the check; release messages stay clean for users.
void Check(bool ok,
           ErrorCode code,
           std::string_view message,
           std::source_location where = std::source_location::current());

}  // namespace phytoflow
