// /api/v1/models: the model files the server knows, with their validation, and the choice of
// the active one (kept in the service state across restarts); and the DEEPaaS v2 endpoints
// (/v2/...) that let the iMagine / AI4OS platform call phytoflow in place of the VLIZ planktonclas
// module. The response shapes and their sources are in docs/api.md.

#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"
#include "phytoflow/imaging/decode.h"
#include "phytoflow/products/zip_archive.h"
#include "phytoflow/reader/export_source.h"
#include "phytoflow/server/http_error.h"
#include "phytoflow/server/json_views.h"
#include "phytoflow/server/routes.h"

#include <cstdio>
#include <fstream>
#include <optional>
#include <span>

#include <fmt/core.h>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The name the model has on the DEEPaaS routes (/v2/models/phytoflow/...).
constexpr const char* kDeepaasModelName = "phytoflow";
// planktonclas answers with the five best classes per image.
constexpr int kDeepaasTopK = 5;
// What one predict request may unpack and decode, against zip bombs: its body is at most a few
// megabytes, but a zip of 400 KB can unpack to gigabytes, and a PNG of 1 MB decode to as many.
// Vignettes are tens of kilobytes, so these are far above real requests.
constexpr uint64_t kMaxPredictUnpackedBytes = uint64_t{256} << 20;  // the zip's entries in all
constexpr uint64_t kMaxPredictImageBytes = uint64_t{64} << 20;      // one entry
constexpr uint64_t kMaxPredictDecodedBytes = uint64_t{512} << 20;   // the decoded images in all

json ValidationSummary(const ModelEntry& entry, bool full) {
  const json report = json::parse(entry.validation.report_json, nullptr, false);
  if (!report.is_object()) {
    return nullptr;
  }
  json summary = json::object();
  for (const char* key : {"items", "top1", "top5", "macro_f1", "balanced_accuracy", "ece"}) {
    summary[key] = report.contains(key) ? report[key] : json(nullptr);
  }
  if (full) {
    summary["per_class"] = report.value("per_class", json::array());
    summary["confusion"] = report.value("confusion", json::array());
  }
  return summary;
}

json ModelJson(const ModelEntry& entry, bool active, bool full) {
  const ModelInfo& info = entry.info;
  json classes = json::array();
  for (size_t idx = 0; idx < info.classes.size(); ++idx) {
    classes.push_back(
        {{"name", info.classes[idx].name},
         {"aphia_id",
          info.classes[idx].aphia_id ? json(*info.classes[idx].aphia_id) : json(nullptr)},
         {"threshold", idx < info.thresholds.size() ? json(info.thresholds[idx]) : json(nullptr)}});
  }
  return {{"id", info.id},
          {"name", info.name},
          {"file", entry.path.filename().string()},
          {"active", active},
          {"architecture", info.architecture},
          {"created_at", info.created_at},
          {"phytoflow_version", info.phytoflow_version},
          {"image_size", info.preprocess.image_size},
          {"channels", info.preprocess.channels},
          {"context", std::string(ContextModeName(info.context.mode))},
          {"temperature", info.temperature},
          {"target_precision", info.target_precision},
          {"classes", std::move(classes)},
          {"validation", ValidationSummary(entry, full)},
          {"url", "/api/v1/models/" + info.id}};
}

// The DEEPaaS model metadata (deepaas/api/v2/models.py: id, name, links, then get_metadata()).
json DeepaasModelMeta(const Service::Parts& parts) {
  const ModelEntry* active = parts.models.Active();
  return {{"id", kDeepaasModelName},
          {"name", kDeepaasModelName},
          {"links", json::array({{{"rel", "self"}, {"href", "/v2/models/phytoflow"}}})},
          {"description",
           "phytoflow: FlowCam phytoplankton vignettes to taxa, with WoRMS AphiaIDs (top-5 "
           "labels and probabilities per image)"},
          {"summary", "FlowCam phytoplankton classifier"},
          {"author", "phytoflow"},
          {"license", "see the model card"},
          {"version", std::string(Version())},
          {"url", "/api/v1/models"},
          {"model_id", active != nullptr ? json(active->info.id) : json(nullptr)}};
}

// The AphiaID of a class: the model's own, else the taxonomy's; null when neither knows one.
json AphiaId(const Service::Parts& parts, const ModelEntry* model, const std::string& name) {
  if (model != nullptr) {
    for (const ModelClass& model_class : model->info.classes) {
      if (model_class.name == name && model_class.aphia_id) {
        return *model_class.aphia_id;
      }
    }
  }
  const Taxon* taxon = parts.taxonomy->Find(name);
  return taxon != nullptr && taxon->aphia_id ? json(*taxon->aphia_id) : json(nullptr);
}

// Zip entries that are not images a user put there: folders, macOS metadata, hidden files.
bool IsImageEntry(std::string_view name) {
  if (name.starts_with("__MACOSX/")) {
    return false;
  }
  const size_t slash = name.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  return !base.empty() && base.front() != '.';
}

void WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  Check(static_cast<bool>(out), ErrorCode::kUnavailable, "cannot write a temporary upload file");
}

HttpResponse Predict(Service::Parts& parts, const HttpRequest& request) {
  if (request.MediaType() != "multipart/form-data") {
    throw UnsupportedMediaType(
        "expected multipart/form-data with a file field 'image' or 'zip_data', found '" +
        request.Header("content-type") + "'");
  }
  const UploadedPart* image = request.Part("image");
  const UploadedPart* zip = request.Part("zip_data");
  if (image == nullptr && zip == nullptr) {
    throw BadRequest("give a file field 'image' (one image) or 'zip_data' (a zip of images)");
  }
  std::vector<std::string> names;
  std::vector<Image> images;
  uint64_t decoded_bytes = 0;
  // Decoded once, here, outside the catalog's lock (which then covers only the model), so that
  // an unreadable image is named as the client named it.
  const auto add = [&](std::string name, std::span<const uint8_t> bytes) {
    images.push_back(DecodeImage(bytes, name));
    decoded_bytes += images.back().pixels.size();
    if (decoded_bytes > kMaxPredictDecodedBytes) {
      throw HttpError(413,
                      "payload_too_large",
                      "the images decode to more than " +
                          std::to_string(kMaxPredictDecodedBytes >> 20) +
                          " MiB; send them in several requests");
    }
    names.push_back(std::move(name));
  };
  if (zip != nullptr) {  // as planktonclas: a zip wins over an image
    TempPathGuard folder(TempPath(parts.options, "predict"));
    fs::create_directories(folder.Path());
    const fs::path zip_path = folder.Path() / "upload.zip";
    WriteFile(zip_path, zip->content);
    // The directory first, without unpacking anything: names, entry count, declared sizes and
    // ratios. Every image may come with a macOS "__MACOSX/._" twin and its folder, so the
    // entries may be twice the images and a few folders; the images are counted below (413).
    const int64_t max_images = parts.options.max_predict_images;
    CheckZip(zip_path,
             {.max_entries = 2 * max_images + 16, .max_unpacked_bytes = kMaxPredictUnpackedBytes},
             "zip_data");
    int64_t wanted = 0;
    // The bytes actually unpacked are capped too: a header may lie about them.
    const std::vector<ZipEntry> entries =
        ReadZip(zip_path,
                [&](std::string_view name) {
                  if (!IsImageEntry(name)) {
                    return false;
                  }
                  if (++wanted > max_images) {
                    throw HttpError(413,
                                    "payload_too_large",
                                    "zip_data: more than " + std::to_string(max_images) +
                                        " images; send them in several requests");
                  }
                  return true;
                },
                {.max_entry_bytes = kMaxPredictImageBytes,
                 .max_total_bytes = kMaxPredictUnpackedBytes,
                 .display_name = "zip_data"});
    if (entries.empty()) {
      throw Error(ErrorCode::kInvalidInput, "zip_data holds no image");
    }
    for (const ZipEntry& entry : entries) {
      add(entry.name, entry.bytes);
    }
  } else {
    add(image->filename.empty() ? "image" : image->filename,
        {reinterpret_cast<const uint8_t*>(image->content.data()), image->content.size()});
  }

  const ModelEntry* model = nullptr;
  const std::vector<Prediction> predictions =
      parts.models.PredictImages(images, kDeepaasTopK, &model);
  json labels = json::array();
  json probabilities = json::array();
  json aphia_ids = json::array();
  for (const Prediction& prediction : predictions) {
    json file_labels = json::array();
    json file_probabilities = json::array();
    json file_aphia_ids = json::array();
    for (const auto& [name, probability] : prediction.top_k) {
      file_labels.push_back(name);
      file_probabilities.push_back(probability);
      file_aphia_ids.push_back(AphiaId(parts, model, name));
    }
    labels.push_back(std::move(file_labels));
    probabilities.push_back(std::move(file_probabilities));
    aphia_ids.push_back(std::move(file_aphia_ids));
  }
  // planktonclas api.py format_prediction(), wrapped by its catch_error() (docs/api.md).
  json predictions_json = json::object();
  predictions_json["filenames"] = names;
  predictions_json["pred_lab"] = std::move(labels);
  predictions_json["pred_prob"] = std::move(probabilities);
  predictions_json["aphia_ids"] = std::move(aphia_ids);
  json body = json::object();
  body["status"] = "OK";
  body["predictions"] = std::move(predictions_json);
  return Json(body);
}

HttpResponse ListModels(Service::Parts& parts, const HttpRequest&) {
  // Read once, so that the list shows one active model even while another is being activated.
  const ModelEntry* active = parts.models.Active();
  json models = json::array();
  for (const ModelEntry& entry : parts.models.Models()) {
    models.push_back(ModelJson(entry, &entry == active, /*full=*/false));
  }
  return Json({{"models", std::move(models)}});
}

HttpResponse ShowModel(Service::Parts& parts, const HttpRequest& request) {
  const ModelEntry* entry = parts.models.Find(request.PathParam("id"));
  if (entry == nullptr) {
    throw Error(ErrorCode::kNotFound,
                "no model '" + request.PathParam("id") + "' (see /api/v1/models)");
  }
  return Json(ModelJson(*entry, entry == parts.models.Active(), /*full=*/true));
}

// The choice is written to the service state before it takes effect (under the catalog's lock),
// so that what a restart restores is what was active last.
HttpResponse ActivateModel(Service::Parts& parts, const HttpRequest& request) {
  const ModelEntry& entry =
      parts.models.Activate(request.PathParam("id"), [&parts](const ModelEntry& chosen) {
        if (parts.state != nullptr) {
          parts.state->SetSetting(kActiveModelSetting, chosen.info.id);
        }
      });
  return Json(ModelJson(entry, /*active=*/true, /*full=*/true));
}

// DEEPaaS v2: deepaas/api/v2/__init__.py get_version, models.py index and get.
HttpResponse DeepaasVersion(Service::Parts&, const HttpRequest&) {
  return Json({{"version", "stable"},
               {"id", "v2"},
               {"links",
                json::array({{{"rel", "self"}, {"type", "application/json"}, {"href", "/v2/"}}})}});
}

HttpResponse DeepaasModels(Service::Parts& parts, const HttpRequest&) {
  return Json({{"models", json::array({DeepaasModelMeta(parts)})}});
}

HttpResponse DeepaasModel(Service::Parts& parts, const HttpRequest&) {
  return Json(DeepaasModelMeta(parts));
}

}  // namespace

void RestoreActiveModel(Service::Parts& parts) {
  if (parts.state == nullptr) {
    return;
  }
  const std::optional<std::string> remembered = parts.state->Setting(kActiveModelSetting);
  if (!remembered) {
    return;
  }
  if (parts.models.Find(*remembered) != nullptr) {
    parts.models.Activate(*remembered);
    return;
  }
  // The setting is kept: the model is active again once it is served again.
  const ModelEntry* active = parts.models.Active();
  fmt::print(stderr,
             "phytoflow: warning: the active model chosen before ({}) is not served now; the "
             "active model is {}\n",
             *remembered,
             active != nullptr ? active->info.id : "none");
  std::fflush(stderr);
}

void AddModelRoutes(Router& router, Service::Parts& parts) {
  PartsRoutes add(router, parts);
  add("GET", "/api/v1/models", Access::kRead, ListModels);
  add("GET", "/api/v1/models/{id}", Access::kRead, ShowModel);
  add("POST", "/api/v1/models/{id}/activate", Access::kAdmin, ActivateModel);
  add("GET", "/v2/", Access::kPublic, DeepaasVersion, ErrorStyle::kDeepaas);
  add("GET", "/v2/models/", Access::kRead, DeepaasModels, ErrorStyle::kDeepaas);
  add("GET", "/v2/models/phytoflow/", Access::kRead, DeepaasModel, ErrorStyle::kDeepaas);
  add("POST", "/v2/models/phytoflow/predict/", Access::kRead, Predict, ErrorStyle::kDeepaas);
}

}  // namespace phytoflow
