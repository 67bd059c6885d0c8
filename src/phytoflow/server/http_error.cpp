#include "phytoflow/server/http_error.h"

#include <nlohmann/json.hpp>

namespace phytoflow {

HttpError BadRequest(const std::string& message) {
  return HttpError(400, "bad_request", message);
}

HttpError UnsupportedMediaType(const std::string& message) {
  return HttpError(415, "unsupported_media_type", message);
}

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return 422;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string DefaultErrorCode(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 422:
      return "invalid_input";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message) {
  // Messages may hold bytes from files or clients; replace invalid UTF-8 rather than throw.
  const nlohmann::json body = {
      {"error", {{"code", code}, {"message", message}, {"status", status}}}};
  HttpResponse response =
      JsonResponse(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), status);
  if (status == 401) {
    response.SetHeader("WWW-Authenticate", "Bearer realm=\"phytoflow\"");
  }
  return response;
}

}  // namespace phytoflow
