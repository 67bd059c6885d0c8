// Uploads and background jobs over HTTP (docs/api.md "Uploads and background jobs"): the upload
// route moves the streamed files into a folder of the job's own and queues an ingest; the job
// routes create, list, show, cancel jobs and serve their logs and result files. JobQueue checks
// and runs; these handlers parse the request and answer the jobs as JSON.

#include "phytoflow/core/error.h"
#include "phytoflow/server/http_error.h"
#include "phytoflow/server/job_queue.h"
#include "phytoflow/server/routes.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <system_error>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kDefaultJobLimit = 100;
constexpr int64_t kMaxJobLimit = 1000;
constexpr int64_t kMaxOffset = int64_t{1} << 40;
constexpr std::array<const char*, 4> kJobKinds = {"ingest", "classify", "export", "train"};

JobQueue& Jobs(const Service::Parts& parts) {
  if (parts.jobs == nullptr) {
    throw HttpError(503, "unavailable", "this server runs no background jobs");
  }
  return *parts.jobs;
}

std::string CreatedBy(const RequestContext& context) {
  return context.token ? context.token->name : "anonymous";
}

std::string JobUrl(int64_t id) {
  return "/api/v1/jobs/" + std::to_string(id);
}

// JSON text stored by the queue; null when empty (no result yet).
json StoredJson(const std::string& text) {
  if (text.empty()) {
    return nullptr;
  }
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? json(text) : parsed;
}

json TextOrNull(const std::string& text) {
  return text.empty() ? json(nullptr) : json(text);
}

json JobJson(const Job& job) {
  const json fraction =
      job.progress_total > 0
          ? json(static_cast<double>(job.progress_done) / static_cast<double>(job.progress_total))
          : json(nullptr);
  const std::string url = JobUrl(job.id);
  return {{"id", job.id},
          {"kind", job.kind},
          {"state", JobStateName(job.state)},
          {"params", StoredJson(job.params_json)},
          {"progress",
           {{"done", job.progress_done},
            {"total", job.progress_total},
            {"fraction", fraction},
            {"message", job.progress_message}}},
          {"result", StoredJson(job.result_json)},
          {"error", TextOrNull(job.error)},
          {"attempts", job.attempts},
          {"created_by", job.created_by},
          {"created_at", job.created_at},
          {"started_at", TextOrNull(job.started_at)},
          {"finished_at", TextOrNull(job.finished_at)},
          {"cancel_requested", job.cancel_requested},
          {"url", url},
          {"log_url", url + "/log"},
          {"result_url", job.result_file.empty() ? json(nullptr) : json(url + "/result")}};
}

// 202 Accepted with the job and where to follow it.
HttpResponse Accepted(const Job& job) {
  HttpResponse response = Json(JobJson(job), 202);
  response.SetHeader("Location", JobUrl(job.id));
  return response;
}

int64_t JobId(const HttpRequest& request) {
  const std::string& text = request.PathParam("id");
  int64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size() || id < 1) {
    throw BadRequest("job id: expected a positive integer, found '" + text + "'");
  }
  return id;
}

Job FoundJob(const JobQueue& jobs, int64_t id) {
  std::optional<Job> job = jobs.Find(id);
  if (!job) {
    throw Error(ErrorCode::kNotFound, "no job " + std::to_string(id));
  }
  return *job;
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/uploads

// A boolean form field ("true"/"false", "1"/"0", "on"/"off"); `fallback` when absent.
bool FormBool(const HttpRequest& request, const std::string& name, bool fallback) {
  const UploadedPart* part = request.Part(name);
  if (part == nullptr) {
    return fallback;
  }
  const std::string& text = part->content;
  if (text == "true" || text == "1" || text == "on") {
    return true;
  }
  if (text == "false" || text == "0" || text == "off") {
    return false;
  }
  throw BadRequest("form field '" + name + "': expected true or false, found '" + text + "'");
}

// Moves an uploaded part to `target`: the streamed file is renamed (so the adapter, which
// removes what is left of an upload after the response, finds nothing), a part held in memory
// is written out.
void TakePart(const UploadedPart& part, const fs::path& target) {
  std::error_code error;
  if (part.file) {
    fs::rename(*part.file, target, error);
    if (error) {  // another file system: copy, and leave the original to the adapter
      error.clear();
      fs::copy_file(*part.file, target, error);
    }
  } else {
    std::ofstream out(target, std::ios::binary);
    out.write(part.content.data(), static_cast<std::streamsize>(part.content.size()));
    if (!out) {
      error = std::make_error_code(std::errc::io_error);
    }
  }
  Check(!error,
        ErrorCode::kUnavailable,
        "cannot keep the upload in " + target.parent_path().string() + ": " + error.message());
}

std::string LowercaseExtension(const std::string& file_name) {
  std::string extension = fs::path(file_name).extension().string();
  for (char& c : extension) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return extension;
}

HttpResponse Upload(Service::Parts& parts,
                    const HttpRequest& request,
                    const RequestContext& context) {
  JobQueue& jobs = Jobs(parts);
  if (request.MediaType() != "multipart/form-data") {
    throw UnsupportedMediaType("expected multipart/form-data with a 'file' field, found '" +
                               request.Header("content-type") + "'");
  }
  const UploadedPart* file = request.Part("file");
  if (file == nullptr || (!file->file && file->filename.empty())) {
    throw BadRequest("expected a file field 'file': a .zip of a FlowCam export");
  }
  IngestJobRequest ingest{.file_name = file->filename,
                          .replace = FormBool(request, "replace", false),
                          .classify = FormBool(request, "classify", false)};
  const UploadedPart* metadata = request.Part("metadata");
  std::string metadata_extension;
  if (metadata != nullptr) {
    ingest.metadata_name = metadata->filename.empty() ? "metadata" : metadata->filename;
    metadata_extension = LowercaseExtension(metadata->filename);
    Check(metadata_extension == ".csv" || metadata_extension == ".json",
          ErrorCode::kInvalidInput,
          "metadata: expected a .csv or .json sidecar (docs/metadata.md), found '" +
              ingest.metadata_name + "'");
  }

  TempPathGuard input(jobs.NewInputDir());
  TakePart(*file, input.Path() / kUploadZipName);
  if (metadata != nullptr) {
    TakePart(*metadata, input.Path() / (kUploadMetadataStem + metadata_extension));
  }
  // The queue checks the zip and the sidecar before it makes a job, and owns the folder from
  // here: it removes it when the job ends, or now if it refuses the upload.
  const Job job = jobs.SubmitIngest(ingest, input.Release(), CreatedBy(context));
  return Accepted(job);
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/jobs

std::string StringField(const json& body, const std::string& key, const std::string& fallback) {
  if (!body.contains(key) || body[key].is_null()) {
    return fallback;
  }
  if (!body[key].is_string()) {
    throw BadRequest("field '" + key + "': expected a string, found " + body[key].type_name());
  }
  return body[key].get<std::string>();
}

std::vector<std::string> SampleList(const json& body) {
  if (!body.contains("samples")) {
    return {};
  }
  const json& samples = body["samples"];
  if (!samples.is_array()) {
    throw BadRequest("field 'samples': expected a list of sample ids");
  }
  std::vector<std::string> ids;
  for (const json& id : samples) {
    if (!id.is_string()) {
      throw BadRequest("field 'samples': expected sample ids (strings), found " +
                       std::string(id.type_name()));
    }
    ids.push_back(id.get<std::string>());
  }
  return ids;
}

// The role a kind of job needs, to create it and to cancel it: training adds a model to the
// installation, an admin's decision; the other kinds need an annotator (checked by the route).
void RequireRoleFor(const std::string& kind, const RequestContext& context) {
  if (kind == "train" && (!context.token || !RoleAllows(context.token->role, Role::kAdmin))) {
    throw HttpError(403, "forbidden", "a train job needs an admin token");
  }
}

HttpResponse CreateJob(Service::Parts& parts,
                       const HttpRequest& request,
                       const RequestContext& context) {
  JobQueue& jobs = Jobs(parts);
  const json body = ObjectBody(request);
  const std::string kind = StringField(body, "kind", "");
  const std::string created_by = CreatedBy(context);
  if (kind == "classify") {
    RequireOnlyKeys(body, {"kind", "samples", "all", "model_id"});
    if (body.contains("all") && !body["all"].is_boolean()) {
      throw BadRequest("field 'all': expected true or false");
    }
    return Accepted(jobs.SubmitClassify({.samples = SampleList(body),
                                         .all = body.value("all", false),
                                         .model_id = StringField(body, "model_id", "")},
                                        created_by));
  }
  if (kind == "export") {
    RequireOnlyKeys(body, {"kind", "format", "samples"});
    return Accepted(jobs.SubmitExport(
        {.format = StringField(body, "format", ""), .samples = SampleList(body)}, created_by));
  }
  if (kind == "train") {
    RequireRoleFor("train", context);
    RequireOnlyKeys(body, {"kind", "epochs", "context", "base_model_id"});
    TrainJobRequest train{.context = StringField(body, "context", "size"),
                          .base_model_id = StringField(body, "base_model_id", "")};
    if (body.contains("epochs")) {
      if (!body["epochs"].is_number_integer()) {
        throw BadRequest("field 'epochs': expected an integer");
      }
      train.epochs = body["epochs"].get<int>();
    }
    return Accepted(jobs.SubmitTrain(train, created_by));
  }
  throw BadRequest(
      "field 'kind': expected classify, export or train (ingest jobs come from "
      "POST /api/v1/uploads), found '" +
      kind + "'");
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/jobs, /jobs/{id}, /log, /result; POST /jobs/{id}/cancel

HttpResponse ListJobs(Service::Parts& parts, const HttpRequest& request) {
  JobFilter filter{.limit = IntQuery(request, "limit", kDefaultJobLimit, 1, kMaxJobLimit),
                   .offset = IntQuery(request, "offset", 0, 0, kMaxOffset)};
  if (const auto state = request.Query("state")) {
    filter.state = ParseJobState(*state);
    if (!filter.state) {
      throw BadRequest(
          "query parameter 'state': expected queued, running, succeeded, failed or cancelled, "
          "found '" +
          *state + "'");
    }
  }
  if (const auto kind = request.Query("kind")) {
    if (std::find(kJobKinds.begin(), kJobKinds.end(), *kind) == kJobKinds.end()) {
      throw BadRequest(
          "query parameter 'kind': expected ingest, classify, export or train, found '" + *kind +
          "'");
    }
    filter.kind = *kind;
  }
  const JobPage page = Jobs(parts).List(filter);
  json listed = json::array();
  for (const Job& job : page.jobs) {
    listed.push_back(JobJson(job));
  }
  return Json({{"jobs", std::move(listed)},
               {"total", page.total},
               {"limit", filter.limit},
               {"offset", filter.offset}});
}

HttpResponse ShowJob(Service::Parts& parts, const HttpRequest& request) {
  return Json(JobJson(FoundJob(Jobs(parts), JobId(request))));
}

HttpResponse JobLog(Service::Parts& parts, const HttpRequest& request) {
  const JobQueue& jobs = Jobs(parts);
  const int64_t id = JobId(request);
  FoundJob(jobs, id);
  HttpResponse response;
  response.content_type = "text/plain; charset=utf-8";
  for (const JobLogLine& line : jobs.Log(id)) {
    response.body += line.at + " " + line.message + "\n";
  }
  return response;
}

HttpResponse CancelJob(Service::Parts& parts,
                       const HttpRequest& request,
                       const RequestContext& context) {
  JobQueue& jobs = Jobs(parts);
  const int64_t id = JobId(request);
  RequireRoleFor(FoundJob(jobs, id).kind, context);
  const std::optional<Job> job = jobs.Cancel(id);
  if (!job) {
    throw Error(ErrorCode::kNotFound, "no job " + std::to_string(id));
  }
  return Json(JobJson(*job));
}

HttpResponse JobResult(Service::Parts& parts, const HttpRequest& request) {
  const Job job = FoundJob(Jobs(parts), JobId(request));
  std::error_code error;
  if (job.result_file.empty() || !fs::is_regular_file(job.result_file, error)) {
    throw Error(ErrorCode::kNotFound,
                "job " + std::to_string(job.id) + " has no result file" +
                    (JobFinished(job.state)
                         ? ""
                         : " (yet: it is " + std::string(JobStateName(job.state)) + ")"));
  }
  HttpResponse response;
  response.content_type = "application/zip";
  response.file = fs::path(job.result_file);
  response.SetHeader("Content-Disposition",
                     "attachment; filename=\"" + response.file->filename().string() + "\"");
  return response;
}

}  // namespace

void AddJobRoutes(Router& router, Service::Parts& parts) {
  PartsRoutes add(router, parts);
  add("POST", "/api/v1/uploads", Access::kAnnotator, Upload);
  add("GET", "/api/v1/jobs", Access::kRead, ListJobs);
  add("POST", "/api/v1/jobs", Access::kAnnotator, CreateJob);
  add("GET", "/api/v1/jobs/{id}", Access::kRead, ShowJob);
  add("GET", "/api/v1/jobs/{id}/log", Access::kRead, JobLog);
  add("POST", "/api/v1/jobs/{id}/cancel", Access::kAnnotator, CancelJob);
  add("GET", "/api/v1/jobs/{id}/result", Access::kRead, JobResult);
}

}  // namespace phytoflow
