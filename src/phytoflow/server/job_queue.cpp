#include "phytoflow/server/job_queue.h"

#include "phytoflow/app/classification.h"
#include "phytoflow/app/ingest.h"
#include "phytoflow/app/metadata.h"
#include "phytoflow/app/products.h"
#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <system_error>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// How often a running job's progress is written to the state (each write is a transaction);
// cancellation is checked at every progress step regardless, and a cancellation asked through
// another process sharing the state is read back as often.
constexpr std::chrono::milliseconds kProgressInterval{250};
// How often an idle worker looks for jobs queued by another process (one sharing the state).
constexpr std::chrono::seconds kIdlePoll{2};
// Share of the validated labels kept aside to choose the epoch and calibrate a trained model.
constexpr double kValidationFraction = 0.2;
constexpr uint32_t kSplitSeed = 1;
constexpr int kMaxEpochs = 1000;

// Thrown from a progress step to end a job early. Deliberately not a std::exception, so that no
// layer below mistakes it for a failure of its own and turns it into an Error.
struct JobStopped {
  bool cancelled = false;  // by a user; else the server is stopping
};

Json ParseParams(const Job& job) {
  Json params = Json::parse(job.params_json, nullptr, /*allow_exceptions=*/false);
  Check(params.is_object(),
        ErrorCode::kInternal,
        "job " + std::to_string(job.id) + ": stored parameters are not a JSON object");
  return params;
}

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void RemoveFolder(const std::string& folder) {
  if (!folder.empty()) {
    std::error_code ignored;
    fs::remove_all(folder, ignored);
  }
}

// The sidecar in an ingest job's input folder, if the upload had one.
std::optional<fs::path> SidecarIn(const fs::path& input_dir) {
  for (const char* extension : {".csv", ".json"}) {
    const fs::path path = input_dir / (std::string(kUploadMetadataStem) + extension);
    if (fs::exists(path)) {
      return path;
    }
  }
  return std::nullopt;
}

DatasetDescription LoadDatasetDescription(const fs::path& path) {
  if (path.empty()) {
    return PlaceholderDatasetDescription();
  }
  std::ifstream in(path, std::ios::binary);
  Check(in.is_open(),
        ErrorCode::kUnavailable,
        path.string() + ": cannot read the dataset description");
  return ParseDatasetDescription({std::istreambuf_iterator<char>(in), {}}, path.string());
}

void CheckSamplesExist(StorePool& stores, const std::vector<std::string>& sample_ids) {
  const StorePool::Lease store = stores.Acquire();
  for (const std::string& sample_id : sample_ids) {
    Check(store->FindSample(sample_id).has_value(),
          ErrorCode::kNotFound,
          "no sample '" + sample_id + "' in the store");
  }
}

// What a job's code uses while it runs: its log, its progress, and the check that ends it early.
class JobRun {
 public:
  JobRun(ServiceState& state,
         const Job& job,
         const std::atomic<bool>& cancel,
         const std::atomic<bool>& interrupt,
         std::function<std::string()> now)
      : state_(state), job_(job), cancel_(cancel), interrupt_(interrupt), now_(std::move(now)) {}

  const Job& Current() const { return job_; }
  void Log(const std::string& message) { state_.AppendJobLog(job_.id, now_(), message); }

  // Ends the job (throws JobStopped) when it was cancelled or the server is stopping.
  void CheckStop() const {
    if (interrupt_) {
      throw JobStopped{.cancelled = false};
    }
    if (cancel_) {
      throw JobStopped{.cancelled = true};
    }
  }

  // A progress step: checks for a stop, and records the progress now and then.
  void Progress(int64_t done, int64_t total, const std::string& message) {
    CheckStop();
    const auto now = std::chrono::steady_clock::now();
    if (done >= total || now - last_write_ >= kProgressInterval || message != last_message_) {
      state_.UpdateJobProgress(job_.id, done, total, message);
      last_write_ = now;
      last_message_ = message;
    }
    if (now - last_cancel_read_ >= kProgressInterval) {
      // This process's Cancel sets the flag at once; another process's only in the state.
      last_cancel_read_ = now;
      const std::optional<Job> stored = state_.FindJob(job_.id);
      if (stored && stored->cancel_requested) {
        throw JobStopped{.cancelled = true};
      }
    }
  }

  // What the job has achieved so far: kept as its result when it fails or is cancelled.
  Json partial_result;

 private:
  ServiceState& state_;
  const Job& job_;
  const std::atomic<bool>& cancel_;
  const std::atomic<bool>& interrupt_;
  std::function<std::string()> now_;
  std::chrono::steady_clock::time_point last_write_{};
  std::chrono::steady_clock::time_point last_cancel_read_ = std::chrono::steady_clock::now();
  std::string last_message_;
};

// What the kinds of job use besides their JobRun.
struct JobServices {
  StorePool& stores;
  ModelCatalog& models;
  const JobQueueOptions& options;
  JobQueue& queue;
};

// ingest: unpacks the upload in its own folder (with the configured limits, counting the bytes
// actually written) and ingests the runs found there; each run is stored atomically.
Json RunIngest(JobRun& run, const Json& params, const JobServices& services) {
  const Job& job = run.Current();
  const fs::path input_dir = job.input_dir;
  const std::string file_name = params.value("file", std::string(kUploadZipName));
  IngestOptions options{.replace = params.value("replace", false)};
  options.display_name = file_name;  // messages and sources name the upload, not our folder
  if (const std::optional<fs::path> sidecar = SidecarIn(input_dir)) {
    options.metadata = ReadMetadataFile(*sidecar);
  }

  const fs::path unpacked = input_dir / "unpacked";
  fs::remove_all(unpacked);  // an attempt before a restart may have left part of it
  fs::create_directories(unpacked);
  run.Progress(0, 0, "unpacking " + file_name);
  UnpackZip(input_dir / kUploadZipName, unpacked, services.options.zip_limits, file_name);
  run.Log("unpacked " + file_name);

  Json samples = Json::array();
  run.partial_result = {{"samples", samples}, {"classify_job_id", nullptr}};
  options.on_progress = [&](const IngestProgress& progress) {
    run.Progress(progress.done, progress.total, "run " + progress.run_name);
  };
  std::vector<std::string> sample_ids;
  options.on_run_done = [&](const IngestReport& report) {
    samples.push_back({{"sample_id", report.sample.id},
                       {"outcome", IngestOutcomeName(report.outcome)},
                       {"particles", report.sample.particle_count}});
    sample_ids.push_back(report.sample.id);
    run.partial_result["samples"] = samples;
    run.Log(fmt::format("run {}: {} as sample {} ({} particles)",
                        report.sample.run_name,
                        IngestOutcomeName(report.outcome),
                        report.sample.id,
                        report.sample.particle_count));
  };
  std::vector<IngestReport> reports;
  {
    const StorePool::Lease store = services.stores.Acquire();
    reports = IngestExport(*store, unpacked, options);
  }
  if (options.metadata) {
    for (const std::string& unmatched : UnmatchedMetadataRuns(*options.metadata, reports)) {
      run.Log("metadata: no run matches the sidecar's record for '" + unmatched + "'");
    }
  }
  fs::remove_all(unpacked);

  Json classify_job_id = nullptr;
  if (params.value("classify", false) && !sample_ids.empty()) {
    try {
      const Job classify = services.queue.SubmitClassify({.samples = sample_ids}, job.created_by);
      classify_job_id = classify.id;
      run.Log(fmt::format("queued classify job {}", classify.id));
    } catch (const Error& error) {
      run.Log(std::string("not classified: ") + error.what());
    }
  }
  return {{"samples", samples}, {"classify_job_id", classify_job_id}};
}

// classify: runs the chosen model over each sample (each sample's predictions are replaced in
// one transaction, so a cancelled job leaves every sample either done or as it was).
Json RunClassify(JobRun& run, const Json& params, const JobServices& services) {
  const std::string model_id = params.at("model_id").get<std::string>();
  const std::unique_ptr<Classifier> classifier = services.models.OpenClassifier(model_id);
  const StorePool::Lease store = services.stores.Acquire();
  std::vector<std::string> sample_ids;
  if (params.value("all", false)) {
    for (const Sample& sample : store->ListSamples()) {
      sample_ids.push_back(sample.id);
    }
  } else {
    sample_ids = params.at("samples").get<std::vector<std::string>>();
  }
  int64_t total = 0;
  for (const std::string& sample_id : sample_ids) {
    const std::optional<Sample> sample = store->FindSample(sample_id);
    Check(sample.has_value(),
          ErrorCode::kNotFound,
          "sample '" + sample_id + "' is no longer in the store");
    total += sample->particle_count;
  }
  int64_t before = 0;  // particles of the samples already classified
  int64_t particles = 0;
  int64_t samples_done = 0;
  run.partial_result = {{"samples", 0}, {"particles", 0}, {"model_id", model_id}};
  for (const std::string& sample_id : sample_ids) {
    const ClassifyReport report =
        ClassifySample(*store, *classifier, sample_id, {.on_progress = [&](int64_t done, int64_t) {
          run.Progress(before + done, total, "sample " + sample_id);
        }});
    before += report.particles;
    particles += report.particles;
    ++samples_done;
    run.partial_result = {
        {"samples", samples_done}, {"particles", particles}, {"model_id", model_id}};
    run.Log(
        fmt::format("classified {}: {} particles, {} given a class, {} uncertain, {} without "
                    "image",
                    sample_id,
                    report.particles,
                    report.classified,
                    report.uncertain,
                    report.without_image));
  }
  return {{"samples", samples_done}, {"particles", particles}, {"model_id", model_id}};
}

// export: writes the Darwin Core Archive or EcoTaxa package into the results folder, kept for
// GET /api/v1/jobs/{id}/result.
Json RunExport(JobRun& run,
               const Json& params,
               const JobServices& services,
               std::string& result_file) {
  const Job& job = run.Current();
  const std::string format = params.at("format").get<std::string>();
  const auto sample_ids = params.at("samples").get<std::vector<std::string>>();
  const fs::path folder = services.options.upload_dir / "results";
  fs::create_directories(folder);
  const std::string name = fmt::format("job-{}-{}.zip", job.id, format);
  const fs::path file = folder / name;
  const auto samples = static_cast<int64_t>(sample_ids.size());
  run.Progress(0, samples, "writing " + name);
  Json warnings = Json::array();
  {
    const StorePool::Lease store = services.stores.Acquire();
    if (format == "dwca") {
      if (services.options.dataset_description.empty()) {
        warnings.push_back(
            "the server has no dataset description: eml.xml has a placeholder title, creator "
            "and contact");
      }
      const DarwinCoreExportReport report =
          ExportDarwinCore(*store,
                           sample_ids,
                           LoadDatasetDescription(services.options.dataset_description),
                           file,
                           {.compose = {.taxonomy = services.options.taxonomy}});
      for (const std::string& warning : report.warnings) {
        warnings.push_back(warning);
      }
      run.Log(fmt::format("Darwin Core Archive: {} events, {} occurrences, {} measurements",
                          report.events,
                          report.occurrences,
                          report.measurements));
    } else {
      const EcoTaxaExportReport report = ExportEcoTaxa(*store, sample_ids.front(), file, {});
      if (report.without_image > 0) {
        warnings.push_back(std::to_string(report.without_image) +
                           " particle(s) without a vignette left out (EcoTaxa needs an image "
                           "per object)");
      }
      run.Log(fmt::format("EcoTaxa package: {} objects", report.objects));
    }
  }
  for (const Json& warning : warnings) {
    run.Log("warning: " + warning.get<std::string>());
  }
  run.Progress(samples, samples, "wrote " + name);
  result_file = file.string();
  return {
      {"file", name}, {"bytes", static_cast<int64_t>(fs::file_size(file))}, {"warnings", warnings}};
}

// train: the store's validated (expert) labels, split into training and validation shares,
// handed to the trainer, which writes a new model file into the model folder.
Json RunTrain(JobRun& run, const Json& params, const JobServices& services) {
  const Job& job = run.Current();
  Check(services.options.train != nullptr,
        ErrorCode::kUnavailable,
        "this server cannot train models (a phytoflow built without LibTorch)");
  std::optional<ModelInfo> base;
  if (params.contains("base_model_id") && params["base_model_id"].is_string()) {
    const std::string base_id = params["base_model_id"].get<std::string>();
    const ModelEntry* entry = services.models.Find(base_id);
    Check(entry != nullptr, ErrorCode::kNotFound, "no model '" + base_id + "'");
    base = entry->info;
  }
  run.Progress(0, 0, "reading the validated labels");
  Dataset data = DatasetFromStore(*services.stores.Acquire(), StoreLabelFilter{});
  Check(data.classes.size() >= 2,
        ErrorCode::kInvalidInput,
        fmt::format("training needs validated labels of at least 2 classes; the store has {} "
                    "validated particles in {} class(es)",
                    data.items.size(),
                    data.classes.size()));
  auto [validation, train] = StratifiedSplit(data, kValidationFraction, kSplitSeed);
  run.Log(fmt::format("training on {} validated particles of {} classes ({} kept to validate)",
                      train.items.size(),
                      data.classes.size(),
                      validation.items.size()));
  fs::create_directories(services.options.model_dir);
  const std::string name = fmt::format("phytoflow-job-{}", job.id);
  const fs::path model_path = services.options.model_dir / (name + ".pt");
  const auto remove_model_files = [&model_path] {
    // A job that did not succeed leaves no model, nor the trainer's per-epoch checkpoint.
    std::error_code ignored;
    fs::remove(model_path, ignored);
    fs::remove(fs::path(model_path.string() + ".checkpoint"), ignored);
  };
  TrainedModel trained;
  try {
    trained = services.options.train(
        TrainJobInput{.train = std::move(train),
                      .validation = std::move(validation),
                      .epochs = params.value("epochs", 20),
                      .context = ParseContextMode(params.value("context", std::string("size"))),
                      .base = base ? &*base : nullptr,
                      .name = name,
                      .model_path = model_path,
                      .on_progress = [&](int64_t done, int64_t total, const std::string& message) {
                        run.Progress(done, total, message);
                      }});
  } catch (...) {  // JobStopped too
    remove_model_files();
    throw;
  }
  run.Log(
      fmt::format("wrote model {} to {} (validation top-1 {:.3f}, macro-F1 {:.3f}); served "
                  "from the next start of the server",
                  trained.model_id,
                  model_path.filename().string(),
                  trained.top1,
                  trained.macro_f1));
  return {{"model_id", trained.model_id}, {"top1", trained.top1}, {"macro_f1", trained.macro_f1}};
}

}  // namespace

struct JobQueue::Running {
  std::atomic<bool> cancel{false};     // a user asked
  std::atomic<bool> interrupt{false};  // the server is stopping
};

JobQueue::JobQueue(ServiceState& state,
                   StorePool& stores,
                   ModelCatalog& models,
                   JobQueueOptions options)
    : state_(state), stores_(stores), models_(models), options_(std::move(options)) {
  if (options_.taxonomy == nullptr) {
    options_.taxonomy = &DefaultTaxonomy();
  }
  std::error_code error;
  fs::create_directories(options_.upload_dir, error);
  Check(!error && fs::is_directory(options_.upload_dir),
        ErrorCode::kUnavailable,
        "cannot create the upload folder " + options_.upload_dir.string() + ": " + error.message());

  for (const Job& job : state_.RecoverInterruptedJobs(options_.max_attempts, Now())) {
    std::string what;
    if (job.state == JobState::kQueued) {
      what = fmt::format("interrupted by a restart; queued again (tried {} of {} times)",
                         job.attempts,
                         options_.max_attempts);
    } else if (job.state == JobState::kCancelled) {
      what = "interrupted by a restart; cancelled, as asked before";
      RemoveFolder(job.input_dir);
    } else {
      what = fmt::format("interrupted by a restart; failed after {} attempts", job.attempts);
      RemoveFolder(job.input_dir);
    }
    state_.AppendJobLog(job.id, Now(), what);
    if (options_.log) {
      options_.log(fmt::format("job {} ({}): {}", job.id, job.kind, what));
    }
  }
  RemoveLeftoverUploads();
  if (options_.start) {
    Start();
  }
}

void JobQueue::Start() {
  const std::lock_guard lock(mutex_);
  if (started_ || stopping_) {
    return;
  }
  started_ = true;
  for (int idx = 0; idx < options_.workers; ++idx) {
    workers_.emplace_back([this] { Work(); });
  }
}

void JobQueue::RemoveLeftoverUploads() {
  // The input folders that jobs still need; everything else a server left behind (a killed
  // upload's streamed part, the folder of an upload refused when the server died) is garbage.
  std::set<fs::path> needed;
  for (const JobState unfinished : {JobState::kQueued, JobState::kRunning}) {
    for (const Job& job :
         state_.ListJobs({.state = unfinished, .limit = std::numeric_limits<int64_t>::max()})
             .jobs) {
      if (!job.input_dir.empty()) {
        needed.insert(fs::path(job.input_dir).lexically_normal());
      }
    }
  }
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(options_.upload_dir, error)) {
    const std::string name = entry.path().filename().string();
    const bool upload_folder = name.starts_with("upload-") && entry.is_directory();
    const bool streamed_part = name.starts_with("phytoflow-part-");
    if ((upload_folder || streamed_part) && !needed.contains(entry.path().lexically_normal())) {
      std::error_code ignored;
      fs::remove_all(entry.path(), ignored);
      if (options_.log) {
        options_.log("jobs: removed " + entry.path().string() + ", left by an earlier server");
      }
    }
  }
}

JobQueue::~JobQueue() {
  Stop();
}

std::string JobQueue::Now() const {
  return options_.now ? options_.now() : NowUtcIso8601();
}

fs::path JobQueue::NewInputDir() const {
  std::string pattern = (options_.upload_dir / "upload-XXXXXX").string();
  Check(mkdtemp(pattern.data()) != nullptr,
        ErrorCode::kUnavailable,
        "cannot create a folder in " + options_.upload_dir.string() + " for an upload");
  return pattern;
}

Job JobQueue::Submit(const std::string& kind,
                     const std::string& params_json,
                     const std::string& input_dir,
                     const std::string& created_by) {
  const Job job = state_.AddJob(Job{.kind = kind,
                                    .params_json = params_json,
                                    .created_by = created_by,
                                    .input_dir = input_dir},
                                Now());
  // The job is committed: from here nothing may fail the request, or the client would retry a
  // job that exists (and SubmitIngest would remove the input folder of a queued job).
  try {
    state_.AppendJobLog(job.id, Now(), "queued by " + created_by);
  } catch (const std::exception& error) {
    if (options_.log) {
      options_.log(fmt::format("job {}: cannot write its log: {}", job.id, error.what()));
    }
  }
  {
    // Under the lock, so that a worker that found nothing to claim is already waiting.
    const std::lock_guard lock(mutex_);
  }
  wake_.notify_one();
  return job;
}

Job JobQueue::SubmitIngest(const IngestJobRequest& request,
                           const fs::path& input_dir,
                           const std::string& created_by) {
  Json params;
  try {
    const std::string name = request.file_name.empty() ? "the upload" : request.file_name;
    CheckZip(input_dir / kUploadZipName, options_.zip_limits, name);
    if (const std::optional<fs::path> sidecar = SidecarIn(input_dir)) {
      try {
        ReadMetadataFile(*sidecar);
      } catch (const Error& error) {
        // The message names our file; the client knows theirs.
        std::string message = error.what();
        const std::string ours = sidecar->string();
        if (const size_t at = message.find(ours); at != std::string::npos) {
          message.replace(at, ours.size(), request.metadata_name);
        }
        throw Error(error.Code(), "metadata: " + message);
      }
    }
    Check(!request.classify || models_.Active() != nullptr,
          ErrorCode::kUnavailable,
          "classify: the server has no model to classify with");
    params = {
        {"file", request.file_name},
        {"metadata", request.metadata_name.empty() ? Json(nullptr) : Json(request.metadata_name)},
        {"replace", request.replace},
        {"classify", request.classify}};
  } catch (...) {
    RemoveFolder(input_dir.string());
    throw;
  }
  // Submit throws only when the job was not stored (AddJob): then nothing needs the folder.
  // Once stored, the folder is the queued job's, whatever else fails.
  try {
    return Submit("ingest", Dump(params), input_dir.string(), created_by);
  } catch (...) {
    RemoveFolder(input_dir.string());
    throw;
  }
}

Job JobQueue::SubmitClassify(const ClassifyJobRequest& request, const std::string& created_by) {
  Check(request.all != !request.samples.empty(),
        ErrorCode::kInvalidInput,
        "classify: give either \"samples\" (a non-empty list) or \"all\": true");
  std::string model_id = request.model_id;
  if (model_id.empty()) {
    const ModelEntry* active = models_.Active();
    Check(active != nullptr, ErrorCode::kUnavailable, "classify: the server has no model");
    model_id = active->info.id;
  } else {
    Check(models_.Find(model_id) != nullptr,
          ErrorCode::kNotFound,
          "no model '" + model_id + "' (see /api/v1/models)");
  }
  CheckSamplesExist(stores_, request.samples);
  const Json params = {{"samples", request.samples}, {"all", request.all}, {"model_id", model_id}};
  return Submit("classify", Dump(params), "", created_by);
}

Job JobQueue::SubmitExport(const ExportJobRequest& request, const std::string& created_by) {
  Check(request.format == "dwca" || request.format == "ecotaxa",
        ErrorCode::kInvalidInput,
        "export: \"format\" must be dwca or ecotaxa, found '" + request.format + "'");
  Check(!request.samples.empty(), ErrorCode::kInvalidInput, "export: \"samples\" is empty");
  Check(request.format != "ecotaxa" || request.samples.size() == 1,
        ErrorCode::kInvalidInput,
        "export: an EcoTaxa package holds one sample; found " +
            std::to_string(request.samples.size()));
  CheckSamplesExist(stores_, request.samples);
  const Json params = {{"format", request.format}, {"samples", request.samples}};
  return Submit("export", Dump(params), "", created_by);
}

Job JobQueue::SubmitTrain(const TrainJobRequest& request, const std::string& created_by) {
  Check(options_.train != nullptr && !options_.model_dir.empty(),
        ErrorCode::kUnavailable,
        "train: this server cannot train models (a phytoflow built without LibTorch)");
  Check(request.epochs >= 1 && request.epochs <= kMaxEpochs,
        ErrorCode::kInvalidInput,
        "train: \"epochs\" must be from 1 to " + std::to_string(kMaxEpochs) + ", found " +
            std::to_string(request.epochs));
  ParseContextMode(request.context);  // throws for anything but none, size, all
  Check(request.base_model_id.empty() || models_.Find(request.base_model_id) != nullptr,
        ErrorCode::kNotFound,
        "no model '" + request.base_model_id + "' (see /api/v1/models)");
  const Json params = {
      {"epochs", request.epochs},
      {"context", request.context},
      {"base_model_id",
       request.base_model_id.empty() ? Json(nullptr) : Json(request.base_model_id)}};
  return Submit("train", Dump(params), "", created_by);
}

std::optional<Job> JobQueue::Find(int64_t id) const {
  return state_.FindJob(id);
}

JobPage JobQueue::List(const JobFilter& filter) const {
  return state_.ListJobs(filter);
}

std::vector<JobLogLine> JobQueue::Log(int64_t id) const {
  return state_.JobLog(id);
}

std::optional<Job> JobQueue::Cancel(int64_t id) {
  const std::lock_guard lock(mutex_);  // a worker claims and registers under it: no gap
  const std::optional<Job> before = state_.FindJob(id);
  if (!before) {
    return std::nullopt;
  }
  Check(!JobFinished(before->state),
        ErrorCode::kConflict,
        "job " + std::to_string(id) + " has already " + std::string(JobStateName(before->state)));
  std::optional<Job> after = state_.RequestJobCancel(id, Now());
  if (after && after->state == JobState::kCancelled && before->state == JobState::kQueued) {
    state_.AppendJobLog(id, Now(), "cancelled before it started");
    RemoveFolder(after->input_dir);
  } else if (after && after->state == JobState::kRunning) {
    state_.AppendJobLog(id, Now(), "cancellation requested; stops at its next progress step");
  }
  if (const auto found = running_.find(id); found != running_.end()) {
    found->second->cancel = true;
  }
  return after;
}

void JobQueue::Stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const auto& [id, running] : running_) {
      running->interrupt = true;
    }
  }
  wake_.notify_all();
  workers_.clear();  // joins them
}

void JobQueue::Work() {
  while (true) {
    std::optional<Job> job;
    std::shared_ptr<Running> running;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) {
        return;
      }
      try {
        job = state_.ClaimNextJob(Now());
      } catch (const std::exception& error) {
        // The state is busy or unreadable: try again later rather than end the worker.
        if (options_.log) {
          options_.log(std::string("jobs: cannot claim a job: ") + error.what());
        }
      }
      if (!job) {
        wake_.wait_for(lock, kIdlePoll);
        continue;
      }
      running = std::make_shared<Running>();
      running->cancel = job->cancel_requested;
      running_[job->id] = running;
    }
    try {
      Run(*job);
    } catch (const std::exception& error) {
      // Only the state itself failing gets here; the job stays running and is recovered at the
      // next start.
      if (options_.log) {
        options_.log(fmt::format("job {}: {}", job->id, error.what()));
      }
    }
    const std::lock_guard lock(mutex_);
    running_.erase(job->id);
  }
}

void JobQueue::Run(const Job& job) {
  std::shared_ptr<Running> running;
  {
    const std::lock_guard lock(mutex_);
    running = running_.at(job.id);
  }
  JobRun run(state_, job, running->cancel, running->interrupt, [this] { return Now(); });
  run.Log(fmt::format("started (attempt {})", job.attempts));
  if (options_.log) {
    options_.log(fmt::format("job {} ({}) started", job.id, job.kind));
  }
  JobOutcome outcome;
  try {
    run.CheckStop();
    const Json params = ParseParams(job);
    const JobServices services{
        .stores = stores_, .models = models_, .options = options_, .queue = *this};
    Json result;
    if (job.kind == "ingest") {
      result = RunIngest(run, params, services);
    } else if (job.kind == "classify") {
      result = RunClassify(run, params, services);
    } else if (job.kind == "export") {
      result = RunExport(run, params, services, outcome.result_file);
    } else if (job.kind == "train") {
      result = RunTrain(run, params, services);
    } else {
      throw Error(ErrorCode::kInternal, "unknown job kind '" + job.kind + "'");
    }
    outcome.result_json = Dump(result);
  } catch (const JobStopped& stopped) {
    if (!stopped.cancelled && !running->cancel) {
      // A graceful stop is no crash: the job goes back to the queue with its attempt given
      // back, so deploys never use up its attempts. Only a server that dies counts (see
      // RecoverInterruptedJobs).
      state_.RequeueJob(job.id);
      run.Log("interrupted: the server is stopping; queued again (this attempt not counted)");
      if (options_.log) {
        options_.log(fmt::format("job {} ({}) interrupted; queued again", job.id, job.kind));
      }
      return;
    }
    outcome.state = JobState::kCancelled;
  } catch (const Error& error) {
    outcome.state = JobState::kFailed;
    outcome.error = error.what();
  } catch (const std::exception& error) {
    outcome.state = JobState::kFailed;
    outcome.error = std::string("internal error: ") + error.what();
  }
  if (outcome.state != JobState::kSucceeded && !run.partial_result.is_null()) {
    outcome.result_json = Dump(run.partial_result);
  }
  const std::string ended = outcome.state == JobState::kFailed
                                ? "failed: " + outcome.error
                                : std::string(JobStateName(outcome.state));
  {
    // Under the lock, as Cancel works: a cancellation the job saw in the state before Cancel
    // logged it still ends the log after Cancel's line.
    const std::lock_guard lock(mutex_);
    state_.FinishJob(job.id, outcome, Now());
    run.Log(ended);
  }
  if (options_.log) {
    options_.log(fmt::format("job {} ({}) {}", job.id, job.kind, ended));
  }
  RemoveFolder(job.input_dir);
}

}  // namespace phytoflow
