#pragma once

// Background jobs of the HTTP service (docs/api.md, "Uploads and background jobs"): ingest of an
// uploaded export, classification of stored samples, Darwin Core and EcoTaxa exports, and
// training on the store's validated labels. Jobs live in the ServiceState, so they survive a
// restart; worker threads run them in order of creation. At construction, the jobs that a
// killed server left running are queued again (tried fewer than `max_attempts` times) or failed
// with "interrupted by a restart"; a job interrupted by Stop() is queued again at once without
// counting the attempt. One server (one JobQueue) uses a state at a time (cli/cmd_serve.cpp
// locks it); a cancellation written to the state by another process is still seen by the
// running job within a progress interval.
//
//   JobQueue jobs(state, stores, models, {.upload_dir = "phytoflow.db.service.db.uploads"});
//   Job job = jobs.SubmitExport({.format = "dwca", .samples = {"run-1"}}, "anna");
//   jobs.Cancel(job.id);   // queued: cancelled at once; running: at its next progress step
//
// The LibTorch training is injected (ModelTrainer, wired by cli/cmd_serve.cpp), so the server
// never names LibTorch; without a trainer, train jobs are refused.

#include "phytoflow/classify/context.h"
#include "phytoflow/classify/dataset.h"
#include "phytoflow/classify/model_info.h"
#include "phytoflow/products/taxonomy.h"
#include "phytoflow/reader/export_source.h"
#include "phytoflow/server/model_catalog.h"
#include "phytoflow/server/store_pool.h"
#include "phytoflow/storage/service_state.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace phytoflow {

// What a train job hands the trainer.
struct TrainJobInput {
  Dataset train;
  Dataset validation;
  int epochs = 40;
  ContextMode context = ContextMode::kSize;
  // The model to start from: its architecture, preprocessing and AphiaIDs are kept. May be null.
  const ModelInfo* base = nullptr;
  std::string name;                  // the new model's name (its id adds a hash of the weights)
  std::filesystem::path model_path;  // where to write the model file
  // Reports progress (steps done of `total`). Throws to stop the training when the job is
  // cancelled or the server stops; the trainer must let that exception through.
  std::function<void(int64_t done, int64_t total, const std::string& message)> on_progress;
};

// What the trainer reports of the new model.
struct TrainedModel {
  std::string model_id;
  double top1 = 0.0;      // on the validation share
  double macro_f1 = 0.0;  // on the validation share
};

using ModelTrainer = std::function<TrainedModel(const TrainJobInput&)>;

// POST /api/v1/uploads: ingest the export zip of an input folder (see JobQueue::NewInputDir).
struct IngestJobRequest {
  std::string file_name;  // the upload's name as the client gave it; shown, never used as a path
  std::string metadata_name;  // the sidecar's name as the client gave it; empty: none
  bool replace = false;       // replace runs already stored
  bool classify = false;      // then classify the ingested samples with the active model
};

// {"kind": "classify", ...}
struct ClassifyJobRequest {
  std::vector<std::string> samples;  // or every sample (when the job runs) with `all`
  bool all = false;
  std::string model_id;  // empty: the active model when the job is submitted
};

// {"kind": "export", ...}
struct ExportJobRequest {
  std::string format;  // "dwca" or "ecotaxa" (one sample)
  std::vector<std::string> samples;
};

// {"kind": "train", ...}
struct TrainJobRequest {
  int epochs = 20;
  std::string context = "size";  // "none", "size" or "all"
  std::string base_model_id;     // empty: train from scratch
};

struct JobQueueOptions {
  int workers = 1;  // threads running jobs; 0: none (jobs wait; for tests)
  // Start the workers at construction; false: at Start(), once the server is set up (e.g. the
  // active model restored, which a recovered ingest with classify uses).
  bool start = true;
  // Where job inputs (uploads) and results (exports) live; created when missing.
  std::filesystem::path upload_dir;
  // Where train jobs write their model files; empty: train jobs are refused.
  std::filesystem::path model_dir;
  ZipLimits zip_limits;                // for uploads, checked by the route and when unpacking
  int max_attempts = 2;                // an interrupted job tried this often fails at restart
  const Taxonomy* taxonomy = nullptr;  // for Darwin Core exports; null: the built-in one
  // dataset.json for the eml.xml of Darwin Core exports; empty: a placeholder description.
  std::filesystem::path dataset_description;
  ModelTrainer train;  // empty: train jobs are refused (a phytoflow built without LibTorch)
  std::function<std::string()> now;  // ISO 8601 UTC; empty: the clock
  // One line per job event for the server's log (started, ended, recovered); empty: none.
  // Called from worker threads.
  std::function<void(const std::string& line)> log;
};

// The name of the export zip in an ingest job's input folder, and of the sidecar (with the
// extension of the client's file: .csv or .json).
inline constexpr const char* kUploadZipName = "export.zip";
inline constexpr const char* kUploadMetadataStem = "metadata";

// Thread-safe.
class JobQueue {
 public:
  // Recovers the jobs left running by the last server (see above), logs what it did, removes
  // what earlier servers left in the upload folder that no unfinished job needs (upload-*
  // folders, streamed phytoflow-part-* files), and starts the workers unless options.start is
  // false. Throws Error{kUnavailable} if the upload folder cannot be created.
  JobQueue(ServiceState& state, StorePool& stores, ModelCatalog& models, JobQueueOptions options);
  // Stop().
  ~JobQueue();
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  const JobQueueOptions& Options() const { return options_; }

  // Starts the workers (when options.start was false). Idempotent; nothing after Stop().
  void Start();

  // A new empty folder in the upload folder for a job's input files; its name is the server's
  // own, never derived from the request.
  std::filesystem::path NewInputDir() const;

  // Queues a job and wakes a worker. Each checks what it can before queueing: the samples and
  // models named exist (Error{kNotFound}), the request makes sense (Error{kInvalidInput}),
  // the server can run it (Error{kUnavailable}: no model to classify with, no trainer).
  // SubmitIngest takes `input_dir` (from NewInputDir, holding kUploadZipName and perhaps the
  // sidecar): it is removed when the job ends, or at once when this throws.
  Job SubmitIngest(const IngestJobRequest& request,
                   const std::filesystem::path& input_dir,
                   const std::string& created_by);
  Job SubmitClassify(const ClassifyJobRequest& request, const std::string& created_by);
  Job SubmitExport(const ExportJobRequest& request, const std::string& created_by);
  Job SubmitTrain(const TrainJobRequest& request, const std::string& created_by);

  std::optional<Job> Find(int64_t id) const;
  JobPage List(const JobFilter& filter) const;
  std::vector<JobLogLine> Log(int64_t id) const;
  // Cancels a job (ServiceState::RequestJobCancel) and, when it runs here, tells its worker.
  // Returns the job after the change; nullopt for an unknown id. Throws Error{kConflict} for a
  // job that had already finished.
  std::optional<Job> Cancel(int64_t id);

  // Stops the workers: a running job is interrupted at its next progress step and queued again
  // with its attempt given back (ServiceState::RequeueJob). A step that does not report
  // progress (unpacking an upload, writing an export) finishes first. Waits for the workers.
  // Idempotent.
  void Stop();

 private:
  struct Running;  // a job being run: its cancellation flag

  void RemoveLeftoverUploads();
  void Work();
  void Run(const Job& job);
  Job Submit(const std::string& kind,
             const std::string& params_json,
             const std::string& input_dir,
             const std::string& created_by);
  std::string Now() const;

  ServiceState& state_;
  StorePool& stores_;
  ModelCatalog& models_;
  JobQueueOptions options_;
  std::mutex mutex_;  // guards running_ and stopping_, and orders claims with cancellations
  std::condition_variable wake_;
  bool stopping_ = false;
  bool started_ = false;
  std::map<int64_t, std::shared_ptr<Running>> running_;
  std::vector<std::jthread> workers_;
};

}  // namespace phytoflow
