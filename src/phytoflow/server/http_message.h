#pragma once

// The HTTP request and response as plain data: what handlers take and give. Only the adapter
// (http_server.cpp) knows the HTTP library; handlers, the router and their tests see these.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phytoflow {

// One part of a multipart/form-data body.
struct UploadedPart {
  std::string name;          // the form field, e.g. "image"
  std::string filename;      // as the client sent it; may be empty
  std::string content_type;  // may be empty
  // The part's bytes: in `content`, or, for a part that the adapter streamed to disk (a file
  // field of a streamed upload route, see HttpServerOptions), in `file` with `content` empty.
  // The file is named by the adapter, never after the client's filename. Once the handler has
  // answered, the adapter removes it; a handler that keeps the upload moves (renames) it away.
  std::string content;
  std::optional<std::filesystem::path> file;
};

struct HttpRequest {
  std::string method;                             // "GET", "POST", ...
  std::string path;                               // decoded, without the query string
  std::multimap<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;     // names lowercase
  std::string body;
  std::vector<UploadedPart> parts;  // multipart/form-data fields, when the body was one
  std::string remote_address;
  // Filled by the router: the values of the {name} segments of the matched route.
  std::map<std::string, std::string> path_params;

  // A header by lowercase name, or "".
  std::string Header(std::string_view lowercase_name) const;
  // The first value of a query parameter, or nullopt.
  std::optional<std::string> Query(const std::string& name) const;
  // A path parameter of the matched route; "" when absent (a bug in the route table).
  const std::string& PathParam(const std::string& name) const;
  // The first multipart part with this field name, or nullptr.
  const UploadedPart* Part(std::string_view name) const;
  // The media type of the body without parameters, lowercase ("application/json").
  std::string MediaType() const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  std::string body;
  // A file to send instead of `body`, streamed by the adapter; removed after sending when
  // `remove_file_after` (a temporary download).
  std::optional<std::filesystem::path> file;
  bool remove_file_after = false;

  void SetHeader(const std::string& name, const std::string& value);
  // The value of a header set on this response, or "" (case-insensitive name).
  std::string Header(std::string_view name) const;
  // Bytes of the body as sent: the file's size for a file response.
  uint64_t BodyBytes() const;
};

// A JSON response with `status`.
HttpResponse JsonResponse(std::string json, int status = 200);

}  // namespace phytoflow
