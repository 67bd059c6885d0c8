#pragma once

// Private to the server: the route groups that Service registers, and the small request and
// response helpers they share. Each *_routes.cpp parses requests into domain types, calls the
// app layer and maps the result to JSON; nothing else.

#include "phytoflow/server/router.h"
#include "phytoflow/server/service.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace phytoflow {

// Registers route handlers written as plain functions of the service's parts (and, where they
// need to know the caller, of the request context), so that a route group lists one route a line:
//   PartsRoutes add(router, parts);
//   add("GET", "/api/v1/samples", Access::kRead, ListSamples);
class PartsRoutes {
 public:
  using Handler = HttpResponse (*)(Service::Parts&, const HttpRequest&);
  using HandlerWithCaller = HttpResponse (*)(Service::Parts&,
                                             const HttpRequest&,
                                             const RequestContext&);

  PartsRoutes(Router& router, Service::Parts& parts) : router_(router), parts_(parts) {}
  void operator()(const char* method,
                  const char* pattern,
                  Access access,
                  Handler handler,
                  ErrorStyle style = ErrorStyle::kStandard);
  void operator()(const char* method,
                  const char* pattern,
                  Access access,
                  HandlerWithCaller handler,
                  ErrorStyle style = ErrorStyle::kStandard);

 private:
  Router& router_;
  Service::Parts& parts_;
};

// /api/v1/samples/... : samples, metadata, particles, images, labels, composition, downloads.
void AddSampleRoutes(Router& router, Service::Parts& parts);
// /api/v1/models... and the DEEPaaS v2 endpoints under /v2/.
void AddModelRoutes(Router& router, Service::Parts& parts);
// Makes the model remembered by POST /api/v1/models/{id}/activate (kActiveModelSetting) active
// again when the service starts; logs a warning and keeps the first model when it is gone.
void RestoreActiveModel(Service::Parts& parts);
// /healthz, /readyz and /api/v1/openapi.json.
void AddSystemRoutes(Router& router, Service::Parts& parts);
// Expert validation: /api/v1/samples/{id}/validations, .../particles/{number}/history and /undo.
void AddValidationRoutes(Router& router, Service::Parts& parts);
// /api/v1/uploads and /api/v1/jobs...
void AddJobRoutes(Router& router, Service::Parts& parts);
// The web UI: / and its assets (compiled in from web/).
void AddWebRoutes(Router& router, Service::Parts& parts);
// /api/v1/indicators/{kind}: the OSPAR indicators ph1, ph2, ph3 and the monthly series.
void AddIndicatorRoutes(Router& router, Service::Parts& parts);
// The handbook: /docs and its pages and images (compiled in from docs/).
void AddDocsRoutes(Router& router, Service::Parts& parts);

// A JSON response; invalid UTF-8 in strings (from export files) is replaced, never thrown on.
HttpResponse Json(const nlohmann::json& body, int status = 200);

// The request body as a JSON object; an empty body is an empty object when `optional`. Throws
// 415 for another media type, 400 for invalid JSON or a JSON value that is no object.
nlohmann::json ObjectBody(const HttpRequest& request, bool optional = false);
// Refuses (400) keys an endpoint does not take, so that a misspelt one is not silently ignored.
void RequireOnlyKeys(const nlohmann::json& body, const std::set<std::string>& keys);

// An integer query parameter in [min, max], or `fallback` when absent. Throws 400 for anything
// else, naming the parameter.
int64_t IntQuery(const HttpRequest& request,
                 const std::string& name,
                 int64_t fallback,
                 int64_t min,
                 int64_t max);
// The {number} path parameter of a particle route. Throws 400 unless it is a non-negative
// integer.
int64_t ParticleNumber(const HttpRequest& request);
// A finite number query parameter, or nullopt when absent. Throws 400 for anything else.
std::optional<double> NumberQuery(const HttpRequest& request, const std::string& name);
// A boolean query parameter ("true"/"false"/"1"/"0"), or `fallback`. Throws 400 otherwise.
bool BoolQuery(const HttpRequest& request, const std::string& name, bool fallback);

// A unique new path in the service's temporary folder, "<prefix>-<random>": never derived from
// anything a client sent.
std::filesystem::path TempPath(const ServiceOptions& options, const std::string& prefix);

// Removes a temporary file or folder when it goes out of scope (unless released).
class TempPathGuard {
 public:
  explicit TempPathGuard(std::filesystem::path path) : path_(std::move(path)) {}
  ~TempPathGuard();
  TempPathGuard(const TempPathGuard&) = delete;
  TempPathGuard& operator=(const TempPathGuard&) = delete;
  const std::filesystem::path& Path() const { return path_; }
  // Keeps the file: the response streams it and removes it afterwards.
  std::filesystem::path Release();

 private:
  std::filesystem::path path_;
};

}  // namespace phytoflow
