#pragma once

// The one error shape of the HTTP service, and how failures become status codes:
//
//   {"error": {"code": "not_found", "message": "no sample 'x'", "status": 404}}
//
// Handlers throw phytoflow::Error (from the app layer, mapped by StatusFor) or HttpError (for
// what only HTTP knows: a malformed request, a missing token, a wrong content type).

#include "phytoflow/core/error.h"
#include "phytoflow/server/http_message.h"

#include <stdexcept>
#include <string>

namespace phytoflow {

// A failure with its HTTP status and machine-readable code ("bad_request", "unauthorized"...).
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int Status() const { return status_; }
  const std::string& Code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

// 400 bad_request: the request itself is malformed (bad JSON, a bad query parameter).
HttpError BadRequest(const std::string& message);
// 415 unsupported_media_type: the body is not of a media type the endpoint takes.
HttpError UnsupportedMediaType(const std::string& message);

// The status of an app-layer failure: kInvalidInput 422 (the request was well formed but its
// content cannot be processed), kNotFound 404, kConflict 409, kUnavailable 503, kInternal 500.
int StatusFor(ErrorCode code);

// The error response: the JSON shape above with this status, code and message (and
// WWW-Authenticate for 401).
HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message);

// The standard code for a status without a more specific one: 404 "not_found", 413
// "payload_too_large", ...
std::string DefaultErrorCode(int status);

}  // namespace phytoflow
