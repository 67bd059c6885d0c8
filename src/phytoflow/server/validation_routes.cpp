// Expert validation over HTTP: give particles a class, mark them dubious, undo the newest change
// of a particle, and read its history (docs/api.md "Expert validation", docs/validation.md).
// app/validation.h checks and writes; these handlers parse the body, name the token's holder as
// the author and answer the reports as JSON.
//
// Nothing the server caches holds labels: the sample list (SampleDirectory) has no labels and
// the image cache only images, while particle listings, labels and compositions read the store
// on every request. So a validation shows at once without invalidating anything.

#include "phytoflow/app/validation.h"
#include "phytoflow/core/error.h"
#include "phytoflow/server/http_error.h"
#include "phytoflow/server/json_views.h"
#include "phytoflow/server/routes.h"

#include <charconv>
#include <cstdint>

namespace phytoflow {
namespace {

using nlohmann::json;

// docs/api.md: one request validates 1 to 10,000 particles (a batch of the store holds at most
// kMaxExpertLabelsPerAppend).
constexpr size_t kMaxParticlesPerRequest = 10'000;

bool BoolField(const json& body, const std::string& name) {
  if (!body.contains(name) || body[name].is_null()) {
    return false;
  }
  if (!body[name].is_boolean()) {
    throw BadRequest(name + ": expected true or false, found " + body[name].type_name());
  }
  return body[name].get<bool>();
}

// A particle number or a sequence: a JSON integer from 0 to INT64_MAX (no fraction).
int64_t NonNegativeInteger(const json& value, const std::string& field) {
  const bool fits = value.is_number_unsigned()
                        ? value.get<uint64_t>() <= uint64_t{INT64_MAX}
                        : value.is_number_integer() && value.get<int64_t>() >= 0;
  if (!fits) {
    throw BadRequest(field + ": expected a non-negative integer, found " +
                     (value.is_number() ? value.dump() : std::string(value.type_name())));
  }
  return value.get<int64_t>();
}

// {"particles": [5, 6, 9], "label": "Ciliophora", "dubious": false, "allow_new_class": false}
ValidationRequest ParseValidationRequest(const HttpRequest& request) {
  const json body = ObjectBody(request, /*optional=*/false);
  RequireOnlyKeys(body, {"particles", "label", "dubious", "allow_new_class"});
  if (!body.contains("particles")) {
    throw BadRequest("particles: required (a list of particle numbers)");
  }
  const json& particles = body["particles"];
  if (!particles.is_array()) {
    throw BadRequest(std::string("particles: expected a list of particle numbers, found ") +
                     particles.type_name());
  }
  // Content, not form: the app layer refuses an empty list the same way (422).
  Check(particles.size() <= kMaxParticlesPerRequest,
        ErrorCode::kInvalidInput,
        "particles: expected at most " + std::to_string(kMaxParticlesPerRequest) +
            " particle numbers in one request, found " + std::to_string(particles.size()));
  ValidationRequest parsed;
  parsed.particle_numbers.reserve(particles.size());
  for (size_t idx = 0; idx < particles.size(); ++idx) {
    parsed.particle_numbers.push_back(
        NonNegativeInteger(particles[idx], "particles[" + std::to_string(idx) + "]"));
  }
  if (body.contains("label") && !body["label"].is_null()) {
    if (!body["label"].is_string()) {
      throw BadRequest(std::string("label: expected a class name, found ") +
                       body["label"].type_name());
    }
    parsed.label = body["label"].get<std::string>();
  }
  parsed.dubious = BoolField(body, "dubious");
  parsed.allow_new_class = BoolField(body, "allow_new_class");
  return parsed;
}

// Every change is signed with the name of the token that made it.
const std::string& Author(const RequestContext& context) {
  if (!context.token) {
    // The router lets no annotator route through without a token; this is a bug if reached.
    throw HttpError(401, "unauthorized", "an edit needs a token");
  }
  return context.token->name;
}

// Classes a validation may name besides the taxonomy's: those of every served model.
std::vector<std::string> ServedModelClasses(const ModelCatalog& models) {
  std::vector<std::string> classes;
  for (const ModelEntry& entry : models.Models()) {
    for (std::string& name : entry.info.ClassNames()) {
      classes.push_back(std::move(name));
    }
  }
  return classes;
}

HttpResponse Validate(Service::Parts& parts,
                      const HttpRequest& request,
                      const RequestContext& context) {
  const ValidationRequest validation = ParseValidationRequest(request);
  const ValidationOptions options{.taxonomy = parts.taxonomy,
                                  .model_classes = ServedModelClasses(parts.models)};
  const ValidationReport report = ValidateParticles(
      *parts.stores.Acquire(), request.PathParam("id"), validation, Author(context), options);
  return Json(ValidationReportJson(report));
}

HttpResponse History(Service::Parts& parts, const HttpRequest& request, const RequestContext&) {
  const int64_t number = ParticleNumber(request);
  return Json(ParticleHistoryJson(
      ParticleHistory(*parts.stores.Acquire(), request.PathParam("id"), number)));
}

// Body (optional): {"expected_sequence": 12}.
HttpResponse Undo(Service::Parts& parts,
                  const HttpRequest& request,
                  const RequestContext& context) {
  const int64_t number = ParticleNumber(request);
  const json body = ObjectBody(request, /*optional=*/true);
  RequireOnlyKeys(body, {"expected_sequence"});
  UndoOptions options;
  if (body.contains("expected_sequence") && !body["expected_sequence"].is_null()) {
    options.expected_sequence = NonNegativeInteger(body["expected_sequence"], "expected_sequence");
    if (options.expected_sequence == 0) {
      throw BadRequest("expected_sequence: expected an event's sequence (1 or more), found 0");
    }
  }
  const ValidationReport report = UndoValidation(
      *parts.stores.Acquire(), request.PathParam("id"), number, Author(context), options);
  return Json(ValidationReportJson(report));
}

}  // namespace

void AddValidationRoutes(Router& router, Service::Parts& parts) {
  PartsRoutes add(router, parts);
  add("POST", "/api/v1/samples/{id}/validations", Access::kAnnotator, Validate);
  add("GET", "/api/v1/samples/{id}/particles/{number}/history", Access::kRead, History);
  add("POST", "/api/v1/samples/{id}/particles/{number}/undo", Access::kAnnotator, Undo);
}

}  // namespace phytoflow
