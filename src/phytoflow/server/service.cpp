#include "phytoflow/server/service.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"
#include "phytoflow/server/http_error.h"
#include "phytoflow/server/routes.h"

#include <charconv>
#include <cmath>
#include <random>
#include <set>

namespace phytoflow {

namespace detail {
std::string_view EmbeddedOpenApiJson();  // generated from openapi.json by embed_openapi.cmake
}  // namespace detail

std::string_view OpenApiDocument() {
  return detail::EmbeddedOpenApiJson();
}

Service::Parts::Parts(StorePool& stores_in,
                      ModelCatalog& models_in,
                      const ServiceOptions& options_in)
    : stores(stores_in),
      models(models_in),
      samples(stores_in, options_in.sample_list_max_age),
      images(options_in.image_cache_bytes),
      options(options_in) {
  if (options.temp_dir.empty()) {
    options.temp_dir = std::filesystem::temp_directory_path();
  }
  if (options.taxonomy.empty()) {
    taxonomy = &DefaultTaxonomy();
  } else {
    loaded_taxonomy = LoadTaxonomy(options.taxonomy);
    taxonomy = &*loaded_taxonomy;
  }
}

Service::Service(StorePool& stores,
                 ModelCatalog& models,
                 TokenRegistry* tokens,
                 ServiceOptions options,
                 JobQueue* jobs)
    : parts_(std::make_unique<Parts>(stores, models, options)),
      router_(tokens, options.public_read) {
  parts_->state = tokens != nullptr ? &tokens->State() : nullptr;
  parts_->jobs = jobs;
  RestoreActiveModel(*parts_);
  AddSystemRoutes(router_, *parts_);
  AddSampleRoutes(router_, *parts_);
  AddModelRoutes(router_, *parts_);
  AddValidationRoutes(router_, *parts_);
  AddJobRoutes(router_, *parts_);
  AddWebRoutes(router_, *parts_);
  AddIndicatorRoutes(router_, *parts_);
  AddDocsRoutes(router_, *parts_);
}

Service::~Service() = default;

HttpResponse Service::Handle(HttpRequest request) const {
  return router_.Handle(std::move(request));
}

std::optional<HttpResponse> Service::Preflight(const HttpRequest& head) const {
  return router_.Authorize(head);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers (routes.h)

HttpResponse Json(const nlohmann::json& body, int status) {
  return JsonResponse(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), status);
}

nlohmann::json ObjectBody(const HttpRequest& request, bool optional) {
  if (optional && request.body.empty()) {
    return nlohmann::json::object();
  }
  if (request.MediaType() != "application/json") {
    throw UnsupportedMediaType("expected a JSON body (Content-Type: application/json), found '" +
                               request.Header("content-type") + "'");
  }
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    throw BadRequest("the body is not valid JSON");
  }
  if (!body.is_object()) {
    throw BadRequest(std::string("expected a JSON object, found ") + body.type_name());
  }
  return body;
}

void RequireOnlyKeys(const nlohmann::json& body, const std::set<std::string>& keys) {
  for (const auto& [key, value] : body.items()) {
    if (!keys.contains(key)) {
      std::string expected;
      for (const std::string& name : keys) {
        expected += (expected.empty() ? "" : ", ") + name;
      }
      throw BadRequest("unknown field '" + key + "': expected " + expected);
    }
  }
}

int64_t IntQuery(const HttpRequest& request,
                 const std::string& name,
                 int64_t fallback,
                 int64_t min,
                 int64_t max) {
  const std::optional<std::string> text = request.Query(name);
  if (!text) {
    return fallback;
  }
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    throw BadRequest("query parameter '" + name + "': expected an integer from " +
                     std::to_string(min) + " to " + std::to_string(max) + ", found '" + *text +
                     "'");
  }
  return value;
}

int64_t ParticleNumber(const HttpRequest& request) {
  const std::string& text = request.PathParam("number");
  int64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size() || number < 0) {
    throw BadRequest("particle number: expected a non-negative integer, found '" + text + "'");
  }
  return number;
}

std::optional<double> NumberQuery(const HttpRequest& request, const std::string& name) {
  const std::optional<std::string> text = request.Query(name);
  if (!text) {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || !std::isfinite(value)) {
    throw BadRequest("query parameter '" + name + "': expected a number, found '" + *text + "'");
  }
  return value;
}

bool BoolQuery(const HttpRequest& request, const std::string& name, bool fallback) {
  const std::optional<std::string> text = request.Query(name);
  if (!text) {
    return fallback;
  }
  if (*text == "true" || *text == "1") {
    return true;
  }
  if (*text == "false" || *text == "0") {
    return false;
  }
  throw BadRequest("query parameter '" + name + "': expected true or false, found '" + *text + "'");
}

void PartsRoutes::operator()(
    const char* method, const char* pattern, Access access, Handler handler, ErrorStyle style) {
  Service::Parts& parts = parts_;
  router_.Add(
      method,
      pattern,
      access,
      [&parts, handler](const HttpRequest& request, const RequestContext&) {
        return handler(parts, request);
      },
      style);
}

void PartsRoutes::operator()(const char* method,
                             const char* pattern,
                             Access access,
                             HandlerWithCaller handler,
                             ErrorStyle style) {
  Service::Parts& parts = parts_;
  router_.Add(
      method,
      pattern,
      access,
      [&parts, handler](const HttpRequest& request, const RequestContext& context) {
        return handler(parts, request, context);
      },
      style);
}

std::filesystem::path TempPath(const ServiceOptions& options, const std::string& prefix) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  uint64_t bits = random();
  std::string suffix;
  for (int idx = 0; idx < 16; ++idx, bits >>= 4) {
    suffix += kDigits[bits & 0xf];
  }
  return options.temp_dir / ("phytoflow-" + prefix + "-" + suffix);
}

TempPathGuard::~TempPathGuard() {
  if (!path_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
}

std::filesystem::path TempPathGuard::Release() {
  return std::exchange(path_, {});
}

// ---------------------------------------------------------------------------------------------
// /healthz, /readyz, /api/v1/openapi.json

void AddSystemRoutes(Router& router, Service::Parts& parts) {
  router.Add("GET", "/healthz", Access::kPublic, [](const HttpRequest&, const RequestContext&) {
    return Json({{"status", "ok"}, {"version", std::string(Version())}});
  });

  router.Add(
      "GET", "/readyz", Access::kPublic, [&parts](const HttpRequest&, const RequestContext&) {
        try {
          // A lookup by id: one indexed query, whatever the size of the store.
          parts.stores.Acquire()->FindSample("");
        } catch (const Error& error) {
          throw HttpError(503, "unavailable", std::string("store not ready: ") + error.what());
        }
        return Json(
            {{"status", "ready"}, {"store", "ok"}, {"models", parts.models.Models().size()}});
      });

  router.Add("GET",
             "/api/v1/openapi.json",
             Access::kPublic,
             [](const HttpRequest&, const RequestContext&) {
               return JsonResponse(std::string(OpenApiDocument()));
             });
}

}  // namespace phytoflow
