// /api/v1/samples/...: the read API over stored samples, the metadata edit, and the products
// (composition, Darwin Core Archive, EcoTaxa package). See docs/api.md.

#include "phytoflow/app/metadata.h"
#include "phytoflow/app/products.h"
#include "phytoflow/core/error.h"
#include "phytoflow/products/composition.h"
#include "phytoflow/server/http_error.h"
#include "phytoflow/server/json_views.h"
#include "phytoflow/server/routes.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <unordered_map>

#include <fmt/core.h>

namespace phytoflow {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultSampleLimit = 50;
constexpr int64_t kDefaultParticleLimit = 100;
constexpr int64_t kMaxLimit = 1000;
constexpr int64_t kMaxOffset = int64_t{1} << 40;
constexpr size_t kMaxWarningHeaderBytes = 2000;

json Number(double value) {
  return std::isfinite(value) ? json(value) : json(nullptr);
}

std::string Lowercase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

bool ContainsIgnoreCase(const std::string& text, const std::string& lowercase_needle) {
  return Lowercase(text).find(lowercase_needle) != std::string::npos;
}

// The "from"/"to" bounds: an ISO 8601 date or time ("2025-04-11", "2025-04-11T10:00:00Z").
std::optional<std::string> TimeQuery(const HttpRequest& request, const std::string& name) {
  std::optional<std::string> text = request.Query(name);
  if (!text) {
    return std::nullopt;
  }
  const bool date_like = text->size() >= 10 &&
                         std::isdigit(static_cast<unsigned char>((*text)[0])) &&
                         (*text)[4] == '-' && (*text)[7] == '-';
  if (!date_like) {
    throw BadRequest("query parameter '" + name +
                     "': expected an ISO 8601 date or time (YYYY-MM-DD[THH:MM:SSZ]), found '" +
                     *text + "'");
  }
  if (text->back() == 'Z') {
    text->pop_back();
  }
  return text;
}

// When a sample was taken: its metadata's sampled_at, else the run start (both UTC), without
// the trailing Z so that the two compare as text.
std::string SampleTime(const Sample& sample) {
  std::string time =
      sample.metadata.sampled_at.empty() ? sample.run_start_utc : sample.metadata.sampled_at;
  if (!time.empty() && time.back() == 'Z') {
    time.pop_back();
  }
  return time;
}

json SampleListItem(const Sample& sample) {
  json item = SampleSummaryJson(sample);
  item["metadata"] = SampleMetadataJson(sample.metadata);
  item["url"] = "/api/v1/samples/" + sample.id;
  return item;
}

// The listed sample, or 404.
Sample ListedSample(Service::Parts& parts, const std::string& sample_id) {
  std::optional<Sample> sample = parts.samples.Find(sample_id);
  if (!sample) {
    throw Error(ErrorCode::kNotFound, "no sample '" + sample_id + "' in the store");
  }
  return std::move(*sample);
}

LabelChoice ChosenLabels(const HttpRequest& request) {
  return LabelChoice{.model_id = request.Query("model_id").value_or(""),
                     .validated_only = BoolQuery(request, "validated_only", false)};
}

// What a particle listing needs of a particle: everything but images, outlines and the list's
// other measurements.
struct ParticleRow {
  int64_t number = 0;
  std::string guid;
  std::string collage_file;
  PixelBox box;
  int64_t particles_per_chain = 1;
  std::string timestamp;
  double esd_um = kMissing;
  double abd_um = kMissing;
  double biovolume_esd_um3 = kMissing;
  double biovolume_abd_um3 = kMissing;
};

ParticleRow RowOf(const Particle& particle) {
  return ParticleRow{.number = particle.number,
                     .guid = particle.guid,
                     .collage_file = particle.collage_file,
                     .box = particle.box,
                     .particles_per_chain = particle.particles_per_chain,
                     .timestamp = particle.timestamp,
                     .esd_um = particle.esd_um,
                     .abd_um = particle.abd_um,
                     .biovolume_esd_um3 = particle.biovolume_esd_um3,
                     .biovolume_abd_um3 = particle.biovolume_abd_um3};
}

// The labels of a sample resolved to one per particle, and the chosen model's own labels (for
// their top-k).
struct ResolvedSampleLabels {
  std::string model_id;
  std::unordered_map<int64_t, ResolvedLabel> resolved;
  std::unordered_map<int64_t, const Label*> model_labels;
  std::vector<Label> labels;  // owns what model_labels points to
};

ResolvedSampleLabels ResolveSampleLabels(const Store& store,
                                         const std::string& sample_id,
                                         const std::vector<int64_t>& numbers,
                                         const LabelChoice& choice) {
  ResolvedSampleLabels result;
  result.labels = store.Labels(sample_id);
  result.model_id = ChosenModelId(result.labels, choice);
  for (ResolvedLabel& label : ResolveLabels(numbers, result.labels, choice)) {
    const int64_t number = label.particle_number;
    result.resolved.emplace(number, std::move(label));
  }
  for (const Label& label : result.labels) {
    if (!result.model_id.empty() && label.source == kLabelSourceModel &&
        label.classification == result.model_id) {
      result.model_labels[label.particle_number] = &label;  // the last one wins, as in Resolve
    }
  }
  return result;
}

json ParticleJson(const std::string& sample_id,
                  const ParticleRow& row,
                  const ResolvedSampleLabels& labels) {
  const std::string base =
      "/api/v1/samples/" + sample_id + "/particles/" + std::to_string(row.number);
  json item = {
      {"number", row.number},
      {"guid", row.guid.empty() ? json(nullptr) : json(row.guid)},
      {"esd_um", Number(row.esd_um)},
      {"abd_um", Number(row.abd_um)},
      {"biovolume_esd_um3", Number(row.biovolume_esd_um3)},
      {"biovolume_abd_um3", Number(row.biovolume_abd_um3)},
      {"particles_per_chain", row.particles_per_chain},
      {"timestamp", row.timestamp.empty() ? json(nullptr) : json(row.timestamp)},
      {"collage_file", row.collage_file},
      {"box",
       {{"x", row.box.x}, {"y", row.box.y}, {"width", row.box.width}, {"height", row.box.height}}},
  };
  const auto resolved = labels.resolved.find(row.number);
  const ResolvedLabel* label = resolved != labels.resolved.end() ? &resolved->second : nullptr;
  item["label"] = label != nullptr && !label->name.empty() ? json(label->name) : json(nullptr);
  item["status"] =
      std::string(LabelStatusName(label != nullptr ? label->status : LabelStatus::kUnlabelled));
  item["dubious"] = label != nullptr && label->dubious;
  item["probability"] =
      label != nullptr && label->probability ? json(*label->probability) : json(nullptr);
  item["identified_by"] = label != nullptr && !label->identified_by.empty()
                              ? json(label->identified_by)
                              : json(nullptr);
  item["top1"] = label != nullptr && !label->top1.empty() ? json(label->top1) : json(nullptr);
  json top_k = json::array();
  const auto model_label = labels.model_labels.find(row.number);
  if (model_label != labels.model_labels.end()) {
    for (const LabelScore& score : model_label->second->top_k) {
      top_k.push_back({{"name", score.name}, {"probability", score.probability}});
    }
  }
  item["top_k"] = std::move(top_k);
  item["url"] = base;
  item["image_url"] = base + "/image.png";
  item["mask_url"] = base + "/mask.png";
  return item;
}

std::optional<LabelStatus> ParseStatus(const std::string& text) {
  for (const LabelStatus status : {LabelStatus::kValidated,
                                   LabelStatus::kPredicted,
                                   LabelStatus::kUncertain,
                                   LabelStatus::kUnlabelled}) {
    if (LabelStatusName(status) == text) {
      return status;
    }
  }
  return std::nullopt;
}

// A metadata value from JSON as the text SetMetadataValue reads: numbers as the shortest exact
// text, strings as they are, null as "" (clear the key).
std::string MetadataText(const std::string& key, const json& value) {
  if (value.is_null()) {
    return "";
  }
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_integer()) {
    return std::to_string(value.get<int64_t>());
  }
  if (value.is_number()) {
    return fmt::format("{}", value.get<double>());
  }
  throw Error(ErrorCode::kInvalidInput,
              key + ": expected a string, a number or null, found " + value.type_name());
}

// Metadata pairs from a PATCH body: {"station": "W08", "latitude": 51.2, "env.chl": 1.5,
// "environment": {"chl": 1.5}}.
std::vector<std::pair<std::string, std::string>> MetadataPairs(const HttpRequest& request) {
  if (request.MediaType() != "application/json") {
    throw UnsupportedMediaType("expected a JSON body (Content-Type: application/json), found '" +
                               request.Header("content-type") + "'");
  }
  const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    throw BadRequest("the body is not valid JSON");
  }
  if (!body.is_object()) {
    throw BadRequest(std::string("expected a JSON object of metadata keys, found ") +
                     body.type_name());
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& [key, value] : body.items()) {
    if (key == "environment" && value.is_object()) {
      for (const auto& [name, number] : value.items()) {
        pairs.emplace_back("env." + name, MetadataText("environment." + name, number));
      }
      continue;
    }
    pairs.emplace_back(key, MetadataText(key, value));
  }
  return pairs;
}

// A file name for Content-Disposition: the sample id with anything unusual replaced.
std::string DownloadName(const std::string& sample_id, const std::string& suffix) {
  std::string name;
  for (const char c : sample_id) {
    name +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  }
  return name + suffix;
}

// Warnings as one header line: printable ASCII only, bounded.
std::string WarningHeader(const std::vector<std::string>& warnings) {
  std::string text;
  for (const std::string& warning : warnings) {
    text += (text.empty() ? "" : " | ") + warning;
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      c = '?';
    }
  }
  return text.size() > kMaxWarningHeaderBytes ? text.substr(0, kMaxWarningHeaderBytes) + "..."
                                              : text;
}

HttpResponse ZipDownload(TempPathGuard& file,
                         const std::string& name,
                         const std::vector<std::string>& warnings) {
  HttpResponse response;
  response.content_type = "application/zip";
  response.file = file.Release();
  response.remove_file_after = true;
  response.SetHeader("Content-Disposition", "attachment; filename=\"" + name + "\"");
  if (!warnings.empty()) {
    response.SetHeader("X-Phytoflow-Warnings", WarningHeader(warnings));
  }
  return response;
}

HttpResponse ImageResponse(const HttpRequest& request,
                           const Service::Parts& parts,
                           const std::string& png,
                           const std::string& etag,
                           const std::string& what) {
  if (png.empty()) {
    throw Error(ErrorCode::kNotFound, what + " is not stored");
  }
  HttpResponse response;
  response.SetHeader("ETag", etag);
  // Stored images never change while the sample is not re-ingested; a client revalidates after
  // a day. Private when reading needs a token, so that shared caches keep nothing.
  response.SetHeader(
      "Cache-Control",
      std::string(parts.options.public_read ? "public" : "private") + ", max-age=86400");
  const std::string if_none_match = request.Header("if-none-match");
  if (!if_none_match.empty() &&
      (if_none_match == "*" || if_none_match.find(etag) != std::string::npos)) {
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  response.content_type = "image/png";
  response.body = png;
  return response;
}

// Route handlers: parse the request, call the app layer, answer JSON.

HttpResponse ListSamples(Service::Parts& parts, const HttpRequest& request) {
  const int64_t limit = IntQuery(request, "limit", kDefaultSampleLimit, 1, kMaxLimit);
  const int64_t offset = IntQuery(request, "offset", 0, 0, kMaxOffset);
  const std::string query = Lowercase(request.Query("q").value_or(""));
  const std::optional<std::string> from = TimeQuery(request, "from");
  const std::optional<std::string> to = TimeQuery(request, "to");
  const auto samples = parts.samples.Samples();
  json items = json::array();
  int64_t total = 0;
  for (const Sample& sample : *samples) {
    if (!query.empty() && !ContainsIgnoreCase(sample.id, query) &&
        !ContainsIgnoreCase(sample.run_name, query) &&
        !ContainsIgnoreCase(sample.metadata.station, query) &&
        !ContainsIgnoreCase(sample.metadata.campaign, query)) {
      continue;
    }
    const std::string time = SampleTime(sample);
    // "to" compares at its own precision, so to=2025-04-11 includes that whole day.
    if ((from && (time.empty() || time < *from)) ||
        (to && (time.empty() || time.substr(0, to->size()) > *to))) {
      continue;
    }
    if (total >= offset && total < offset + limit) {
      items.push_back(SampleListItem(sample));
    }
    ++total;
  }
  return Json(
      {{"samples", std::move(items)}, {"total", total}, {"limit", limit}, {"offset", offset}});
}

HttpResponse ShowSample(Service::Parts& parts, const HttpRequest& request) {
  const std::string& sample_id = request.PathParam("id");
  const auto store = parts.stores.Acquire();
  const std::optional<Sample> sample = store->FindSample(sample_id);
  if (!sample) {
    throw Error(ErrorCode::kNotFound, "no sample '" + sample_id + "' in the store");
  }
  return Json(SampleDetailJson(*sample, store->CountLabels(sample_id)));
}

HttpResponse PatchMetadata(Service::Parts& parts, const HttpRequest& request) {
  const std::string& sample_id = request.PathParam("id");
  const auto pairs = MetadataPairs(request);
  const SampleMetadata metadata = SetSampleMetadata(*parts.stores.Acquire(), sample_id, pairs);
  parts.samples.Invalidate();
  return Json({{"sample_id", sample_id}, {"metadata", SampleMetadataJson(metadata)}});
}

HttpResponse ListParticles(Service::Parts& parts, const HttpRequest& request) {
  const Sample sample = ListedSample(parts, request.PathParam("id"));
  const int64_t limit = IntQuery(request, "limit", kDefaultParticleLimit, 1, kMaxLimit);
  const int64_t offset = IntQuery(request, "offset", 0, 0, kMaxOffset);
  const std::optional<std::string> label = request.Query("label");
  std::optional<LabelStatus> status;
  if (const auto text = request.Query("status")) {
    status = ParseStatus(*text);
    if (!status) {
      throw BadRequest(
          "query parameter 'status': expected validated, predicted, uncertain or "
          "unlabelled, found '" +
          *text + "'");
    }
  }
  // Dubious is not a status of its own: a dubious particle counts as its prediction.
  const std::optional<bool> dubious =
      request.Query("dubious") ? std::optional(BoolQuery(request, "dubious", false)) : std::nullopt;
  const std::optional<double> min_esd = NumberQuery(request, "min_esd_um");
  const std::optional<double> max_esd = NumberQuery(request, "max_esd_um");
  const LabelChoice choice = ChosenLabels(request);

  const auto store = parts.stores.Acquire();
  std::vector<ParticleRow> rows;
  rows.reserve(static_cast<size_t>(sample.particle_count));
  store->ScanParticles(
      sample.id, {}, [&](const Particle& particle) { rows.push_back(RowOf(particle)); });
  std::vector<int64_t> numbers;
  numbers.reserve(rows.size());
  for (const ParticleRow& row : rows) {
    numbers.push_back(row.number);
  }
  const ResolvedSampleLabels labels = ResolveSampleLabels(*store, sample.id, numbers, choice);

  json items = json::array();
  int64_t total = 0;
  for (const ParticleRow& row : rows) {
    const auto found = labels.resolved.find(row.number);
    const LabelStatus row_status =
        found != labels.resolved.end() ? found->second.status : LabelStatus::kUnlabelled;
    const std::string row_label = found != labels.resolved.end() ? found->second.name : "";
    const bool row_dubious = found != labels.resolved.end() && found->second.dubious;
    // A size filter leaves out particles without that size (NaN compares false).
    if ((status && row_status != *status) || (label && row_label != *label) ||
        (dubious && row_dubious != *dubious) || (min_esd && !(row.esd_um >= *min_esd)) ||
        (max_esd && !(row.esd_um <= *max_esd))) {
      continue;
    }
    if (total >= offset && total < offset + limit) {
      items.push_back(ParticleJson(sample.id, row, labels));
    }
    ++total;
  }
  return Json({{"sample_id", sample.id},
               {"model_id", labels.model_id.empty() ? json(nullptr) : json(labels.model_id)},
               {"particles", std::move(items)},
               {"total", total},
               {"limit", limit},
               {"offset", offset}});
}

HttpResponse ShowParticle(Service::Parts& parts, const HttpRequest& request) {
  const Sample sample = ListedSample(parts, request.PathParam("id"));
  const int64_t number = ParticleNumber(request);
  const auto store = parts.stores.Acquire();
  std::optional<Particle> found;
  store->ScanParticles(sample.id,
                       {.first_number = number, .last_number = number},
                       [&](const Particle& particle) { found = particle; });
  if (!found) {
    throw Error(ErrorCode::kNotFound,
                "sample '" + sample.id + "' has no particle " + std::to_string(number));
  }
  const ResolvedSampleLabels labels =
      ResolveSampleLabels(*store, sample.id, {number}, ChosenLabels(request));
  json item = ParticleJson(sample.id, RowOf(*found), labels);
  json measurements = json::object();
  for (size_t idx = 0; idx < sample.measurement_names.size() && idx < found->measurements.size();
       ++idx) {
    measurements[sample.measurement_names[idx]] = Number(found->measurements[idx]);
  }
  item["measurements"] = std::move(measurements);
  json history = json::array();
  for (const Label& label : labels.labels) {
    if (label.particle_number == number) {
      history.push_back(LabelJson(label));
    }
  }
  item["labels"] = std::move(history);
  item["sample_id"] = sample.id;
  return Json(item);
}

// The vignette (or, with `mask`, the mask) of a particle, from the image cache.
HttpResponse ParticleImageOrMask(Service::Parts& parts, const HttpRequest& request, bool mask) {
  const Sample sample = ListedSample(parts, request.PathParam("id"));
  const int64_t number = ParticleNumber(request);
  const auto images = parts.images.Find(*parts.stores.Acquire(), sample, number);
  if (!images) {
    throw Error(ErrorCode::kNotFound,
                "sample '" + sample.id + "' has no particle " + std::to_string(number));
  }
  return ImageResponse(
      request,
      parts,
      mask ? images->mask_png : images->image_png,
      mask ? images->mask_etag : images->image_etag,
      (mask ? "the mask of particle " : "the vignette of particle ") + std::to_string(number));
}

HttpResponse ParticleImage(Service::Parts& parts, const HttpRequest& request) {
  return ParticleImageOrMask(parts, request, /*mask=*/false);
}

HttpResponse ParticleMask(Service::Parts& parts, const HttpRequest& request) {
  return ParticleImageOrMask(parts, request, /*mask=*/true);
}

HttpResponse ListLabels(Service::Parts& parts, const HttpRequest& request) {
  const Sample sample = ListedSample(parts, request.PathParam("id"));
  json labels = json::array();
  for (const Label& label : parts.stores.Acquire()->Labels(sample.id)) {
    labels.push_back(LabelJson(label));
  }
  return Json({{"sample_id", sample.id}, {"labels", std::move(labels)}});
}

HttpResponse Composition(Service::Parts& parts, const HttpRequest& request) {
  const std::string& sample_id = request.PathParam("id");
  const std::string carbon = request.Query("carbon").value_or("all-sizes");
  if (carbon != "all-sizes" && carbon != "switch") {
    throw BadRequest("query parameter 'carbon': expected all-sizes or switch, found '" + carbon +
                     "'");
  }
  ComposeOptions options{.taxonomy = parts.taxonomy, .labels = ChosenLabels(request)};
  options.composition.diatom_carbon =
      carbon == "switch" ? DiatomCarbon::kSwitchAbove3000 : DiatomCarbon::kAllSizes;
  // Corrections use the confusion matrix of the model whose predictions are counted, when the
  // server knows it, else the active model's (products/ then warns if they differ).
  std::string confusion_problem;
  if (!options.labels.validated_only) {
    const ModelEntry* model = parts.models.Find(options.labels.model_id);
    if (model == nullptr) {
      model = parts.models.Active();
    }
    if (model != nullptr) {
      options.composition.confusion = model->validation.confusion;
      options.composition.confusion_model_id = model->info.id;
      confusion_problem = model->validation.problem;
    } else {
      confusion_problem = "the server knows no model: corrected abundances not computed";
    }
  }
  SampleComposition composition = ComposeSample(*parts.stores.Acquire(), sample_id, options);
  if (!confusion_problem.empty() && !composition.model_id.empty()) {
    composition.warnings.push_back(confusion_problem);
  }
  return Json(CompositionJson(composition, carbon, options.labels.validated_only));
}

HttpResponse DarwinCoreDownload(Service::Parts& parts, const HttpRequest& request) {
  const std::string& sample_id = request.PathParam("id");
  std::vector<std::string> warnings;
  DatasetDescription dataset;
  if (parts.options.dataset_description.empty()) {
    dataset = PlaceholderDatasetDescription();
    warnings.push_back(
        "the server has no dataset description: eml.xml has a placeholder "
        "title, creator and contact");
  } else {
    std::ifstream in(parts.options.dataset_description, std::ios::binary);
    Check(in.is_open(),
          ErrorCode::kUnavailable,
          parts.options.dataset_description.string() + ": cannot read the dataset description");
    dataset = ParseDatasetDescription({std::istreambuf_iterator<char>(in), {}},
                                      parts.options.dataset_description.string());
  }
  const DarwinCoreExportOptions options{
      .compose = {.taxonomy = parts.taxonomy, .labels = ChosenLabels(request)}};
  TempPathGuard file(TempPath(parts.options, "dwca") += ".zip");
  const DarwinCoreExportReport report =
      ExportDarwinCore(*parts.stores.Acquire(), {sample_id}, dataset, file.Path(), options);
  warnings.insert(warnings.end(), report.warnings.begin(), report.warnings.end());
  return ZipDownload(file, DownloadName(sample_id, "-dwca.zip"), warnings);
}

HttpResponse EcoTaxaDownload(Service::Parts& parts, const HttpRequest& request) {
  const std::string& sample_id = request.PathParam("id");
  TempPathGuard file(TempPath(parts.options, "ecotaxa") += ".zip");
  const EcoTaxaExportReport report =
      ExportEcoTaxa(*parts.stores.Acquire(), sample_id, file.Path(), ChosenLabels(request));
  std::vector<std::string> warnings;
  if (report.without_image > 0) {
    warnings.push_back(std::to_string(report.without_image) +
                       " particle(s) without a vignette left out (EcoTaxa needs an image per "
                       "object)");
  }
  return ZipDownload(file, DownloadName(sample_id, "-ecotaxa.zip"), warnings);
}

}  // namespace

void AddSampleRoutes(Router& router, Service::Parts& parts) {
  PartsRoutes add(router, parts);
  add("GET", "/api/v1/samples", Access::kRead, ListSamples);
  add("GET", "/api/v1/samples/{id}", Access::kRead, ShowSample);
  add("PATCH", "/api/v1/samples/{id}/metadata", Access::kAnnotator, PatchMetadata);
  add("GET", "/api/v1/samples/{id}/particles", Access::kRead, ListParticles);
  add("GET", "/api/v1/samples/{id}/particles/{number}", Access::kRead, ShowParticle);
  add("GET", "/api/v1/samples/{id}/particles/{number}/image.png", Access::kRead, ParticleImage);
  add("GET", "/api/v1/samples/{id}/particles/{number}/mask.png", Access::kRead, ParticleMask);
  add("GET", "/api/v1/samples/{id}/labels", Access::kRead, ListLabels);
  add("GET", "/api/v1/samples/{id}/composition", Access::kRead, Composition);
  add("GET", "/api/v1/samples/{id}/dwca.zip", Access::kRead, DarwinCoreDownload);
  add("GET", "/api/v1/samples/{id}/ecotaxa.zip", Access::kRead, EcoTaxaDownload);
}

}  // namespace phytoflow
