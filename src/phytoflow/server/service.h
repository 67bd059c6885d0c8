#pragma once

// The phytoflow HTTP service without the HTTP library: the routes of /api/v1 (samples,
// particles, images, labels, products, models, uploads and jobs), the DEEPaaS v2 endpoints,
// /healthz, /readyz and the OpenAPI document, over a store pool, a model catalog, a token
// registry and a job queue. HttpServer
// (http_server.h) puts it on a socket; tests call Handle() directly. docs/api.md describes
// every endpoint.
//
//   StorePool stores([&] { return OpenStore(uri); }, 4);
//   Service service(stores, models, &tokens, {.public_read = true}, &jobs);
//   HttpResponse response = service.Handle(request);

#include "phytoflow/products/taxonomy.h"
#include "phytoflow/server/http_message.h"
#include "phytoflow/server/model_catalog.h"
#include "phytoflow/server/particle_image_cache.h"
#include "phytoflow/server/router.h"
#include "phytoflow/server/sample_directory.h"
#include "phytoflow/server/store_pool.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace phytoflow {

class JobQueue;  // job_queue.h

struct ServiceOptions {
  bool public_read = false;  // GET endpoints (and DEEPaaS predict) without a token
  // Where downloads are written and uploads unpacked before they are sent or read; empty: the
  // system's temporary folder.
  std::filesystem::path temp_dir;
  int max_predict_images = 500;                         // images per DEEPaaS predict request
  size_t image_cache_bytes = 256u << 20;                // vignettes and masks kept in memory
  std::chrono::milliseconds sample_list_max_age{1000};  // see SampleDirectory
  // dataset.json for the eml.xml of Darwin Core downloads; empty: a placeholder description
  // (and a warning in the X-Phytoflow-Warnings header).
  std::filesystem::path dataset_description;
  std::filesystem::path taxonomy;  // taxonomy TSV; empty: the built-in one
  // Particle draws an indicator request with uncertainty=N may cost: N × the particles of the
  // samples in the indicator's years, and a fiftieth of it in N × those samples
  // (docs/indicators.md). About 7 s and 200 MB of a release build at the limit; the command line
  // has no limit.
  int64_t max_uncertainty_draws = 5'000'000;
};

// The routes and what they share. Thread-safe: Handle() is called from every request thread.
class Service {
 public:
  // `tokens` may be null (no service state): then only public routes, and with public_read the
  // read routes, can be called. `jobs` may be null: then the upload and job routes answer 503.
  // Throws Error for an unreadable taxonomy.
  Service(StorePool& stores,
          ModelCatalog& models,
          TokenRegistry* tokens,
          ServiceOptions options,
          JobQueue* jobs = nullptr);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Answers one request (never throws; errors are JSON error responses).
  HttpResponse Handle(HttpRequest request) const;
  // The refusal Handle would give, from the request line and headers alone (Router::Authorize);
  // nullopt when the body may be read. For HttpServerOptions::preflight.
  std::optional<HttpResponse> Preflight(const HttpRequest& head) const;
  const Router& Routes() const { return router_; }

  // Everything the route handlers use (route files: server/*_routes.cpp).
  struct Parts {
    Parts(StorePool& stores, ModelCatalog& models, const ServiceOptions& options);

    StorePool& stores;
    ModelCatalog& models;
    SampleDirectory samples;
    ParticleImageCache images;
    std::optional<Taxonomy> loaded_taxonomy;
    const Taxonomy* taxonomy = nullptr;
    ServiceOptions options;
    // The installation's state (tokens, settings, jobs); null when the service has none.
    ServiceState* state = nullptr;
    // The background jobs (uploads, classify, export, train); null when the service runs none.
    JobQueue* jobs = nullptr;
  };

 private:
  std::unique_ptr<Parts> parts_;
  Router router_;
};

// The OpenAPI 3 document of every route (server/openapi.json, compiled in).
std::string_view OpenApiDocument();

}  // namespace phytoflow
