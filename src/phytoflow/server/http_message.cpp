#include "phytoflow/server/http_message.h"

#include <cctype>
#include <system_error>

namespace phytoflow {
namespace {

std::string Lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return lower;
}

}  // namespace

std::string HttpRequest::Header(std::string_view lowercase_name) const {
  const auto found = headers.find(std::string(lowercase_name));
  return found == headers.end() ? std::string() : found->second;
}

std::optional<std::string> HttpRequest::Query(const std::string& name) const {
  const auto found = query.find(name);
  if (found == query.end()) {
    return std::nullopt;
  }
  return found->second;
}

const std::string& HttpRequest::PathParam(const std::string& name) const {
  static const std::string kNone;
  const auto found = path_params.find(name);
  return found == path_params.end() ? kNone : found->second;
}

const UploadedPart* HttpRequest::Part(std::string_view name) const {
  for (const UploadedPart& part : parts) {
    if (part.name == name) {
      return &part;
    }
  }
  return nullptr;
}

std::string HttpRequest::MediaType() const {
  std::string type = Header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) {
    type.pop_back();
  }
  return Lowercase(type);
}

void HttpResponse::SetHeader(const std::string& name, const std::string& value) {
  const std::string lower = Lowercase(name);
  for (auto& [key, existing] : headers) {
    if (Lowercase(key) == lower) {
      existing = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

std::string HttpResponse::Header(std::string_view name) const {
  const std::string lower = Lowercase(name);
  for (const auto& [key, value] : headers) {
    if (Lowercase(key) == lower) {
      return value;
    }
  }
  return {};
}

uint64_t HttpResponse::BodyBytes() const {
  if (file) {
    std::error_code error;
    const auto size = std::filesystem::file_size(*file, error);
    return error ? 0 : static_cast<uint64_t>(size);
  }
  return body.size();
}

HttpResponse JsonResponse(std::string json, int status) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(json);
  return response;
}

}  // namespace phytoflow
