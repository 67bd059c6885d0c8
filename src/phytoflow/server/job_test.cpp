// Background jobs on a SQLite service state and SQLite stores: an ingest job from a zip of the
// bundled example, the classify job it queues, exports with a downloadable result, training on
// validated labels (with a trainer standing in for LibTorch), cancellation of queued and
// running jobs, recovery after a restart, and the job routes through Service::Handle (with the
// OpenAPI document of each). The same over loopback HTTP, with uploads, is in http_test.cpp.

#include "phytoflow/app/validation.h"
#include "phytoflow/core/error.h"
#include "phytoflow/products/zip_archive.h"
#include "phytoflow/server/accounts.h"
#include "phytoflow/server/job_queue.h"
#include "phytoflow/server/server_test_support.h"
#include "phytoflow/server/service.h"
#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace phytoflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::kExampleSampleId;
using testing_support::TestFolder;

constexpr auto kPatience = std::chrono::seconds(120);  // a job under the sanitizers

std::string TestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

std::vector<uint8_t> FileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A zip of the bundled example run, as a user would upload it: "<run folder>/<file>".
void WriteExampleZip(const fs::path& zip) {
  std::vector<ZipEntry> entries;
  const fs::path run = testing_support::ExampleRun();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(run)) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    entries.push_back(ZipEntry{.name = run.filename().string() + "/" + file.filename().string(),
                               .bytes = FileBytes(file)});
  }
  WriteZip(zip, entries);
}

bool LogHas(const std::vector<JobLogLine>& log, const std::string& text) {
  return std::any_of(log.begin(), log.end(), [&](const JobLogLine& line) {
    return line.message.find(text) != std::string::npos;
  });
}

std::string LogText(const std::vector<JobLogLine>& log) {
  std::string text;
  for (const JobLogLine& line : log) {
    text += line.at + " " + line.message + "\n";
  }
  return text;
}

// A trainer standing in for LibTorch: records what it was given, reports `steps` progress steps
// (waiting `step_pause` between them, so that a test can cancel it midway), writes a file where
// the model belongs and names the model after its input.
struct FakeTrainer {
  int steps = 3;
  std::chrono::milliseconds step_pause{0};
  std::promise<void> started;
  std::atomic<int> steps_done{0};
  std::vector<std::string> classes;
  size_t train_items = 0;
  size_t validation_items = 0;
  int epochs = 0;
  ContextMode context = ContextMode::kNone;
  std::string base_id;

  TrainedModel operator()(const TrainJobInput& input) {
    classes = input.train.classes;
    train_items = input.train.items.size();
    validation_items = input.validation.items.size();
    epochs = input.epochs;
    context = input.context;
    base_id = input.base != nullptr ? input.base->id : "";
    // Like LibTorch's trainer: a per-epoch checkpoint beside the model, removed on success.
    const fs::path checkpoint = input.model_path.string() + ".checkpoint";
    fs::create_directories(input.model_path.parent_path());
    std::ofstream(checkpoint) << "epoch";
    started.set_value();
    for (int step = 1; step <= steps; ++step) {
      std::this_thread::sleep_for(step_pause);
      input.on_progress(step, steps, "step " + std::to_string(step));
      ++steps_done;
    }
    std::ofstream(input.model_path) << "weights";
    fs::remove(checkpoint);
    return {.model_id = input.name + "-0123456789ab", .top1 = 0.75, .macro_f1 = 0.5};
  }
};

class JobTest : public ::testing::Test {
 protected:
  JobTest()
      : folder_(TestFolder() / ("jobs-" + TestName())),
        store_path_(testing_support::ExampleStoreCopy("jobs-" + TestName())),
        stores_(std::make_unique<StorePool>([this] { return OpenSqliteStore(store_path_); }, 2)),
        models_(testing_support::TestModels()) {
    fs::remove_all(folder_);
    fs::create_directories(folder_);
    state_ = OpenSqliteServiceState(folder_ / "state.db");
  }

  JobQueueOptions Options(int workers = 1) {
    return {.workers = workers,
            .upload_dir = folder_ / "uploads",
            .model_dir = folder_ / "models",
            .train = [this](const TrainJobInput& input) {
              return (*trainer_)(input);
            }};
  }

  // An empty store instead of the example's (before any queue or service uses the pool).
  void UseEmptyStore() {
    store_path_ = folder_ / "empty.db";
    stores_ = std::make_unique<StorePool>([this] { return OpenSqliteStore(store_path_); }, 2);
  }

  // Waits until the job has finished; fails the test after kPatience.
  static Job WaitForEnd(const JobQueue& jobs, int64_t id) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::optional<Job> job = jobs.Find(id);
      if (job && JobFinished(job->state)) {
        return *job;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "job " << id << " did not finish: " << LogText(jobs.Log(id));
    return *jobs.Find(id);
  }

  // Validates particles 1-10 as Ciliophora and 11-20 as Dinoflagellata: 20 validated labels.
  void ValidateTwentyParticles() {
    const auto store = stores_->Acquire();
    std::vector<int64_t> first(10);
    std::vector<int64_t> second(10);
    for (int64_t idx = 0; idx < 10; ++idx) {
      first[static_cast<size_t>(idx)] = idx + 1;
      second[static_cast<size_t>(idx)] = idx + 11;
    }
    ValidateParticles(
        *store, kExampleSampleId, {.particle_numbers = first, .label = "Ciliophora"}, "anna");
    ValidateParticles(
        *store, kExampleSampleId, {.particle_numbers = second, .label = "Dinoflagellata"}, "anna");
  }

  fs::path folder_;
  fs::path store_path_;
  std::unique_ptr<StorePool> stores_;
  ModelCatalog models_;
  std::unique_ptr<ServiceState> state_;
  std::unique_ptr<FakeTrainer> trainer_ = std::make_unique<FakeTrainer>();
};

// ---------------------------------------------------------------------------------------------
// Ingest

TEST_F(JobTest, IngestsAnUploadedZipWithItsSidecarAndReportsProgress) {
  UseEmptyStore();
  JobQueue jobs(*state_, *stores_, models_, Options());
  const fs::path input = jobs.NewInputDir();
  EXPECT_EQ(input.parent_path(), folder_ / "uploads");
  WriteExampleZip(input / kUploadZipName);
  fs::copy_file("examples/vicko_pygsuia_2025/metadata.csv", input / "metadata.csv");

  const Job queued =
      jobs.SubmitIngest({.file_name = "vicko.zip", .metadata_name = "stations.csv"}, input, "anna");
  EXPECT_EQ(queued.kind, "ingest");
  EXPECT_EQ(queued.created_by, "anna");
  const Job job = WaitForEnd(jobs, queued.id);
  const std::vector<JobLogLine> log = jobs.Log(job.id);
  ASSERT_EQ(job.state, JobState::kSucceeded) << job.error << "\n" << LogText(log);

  const json result = json::parse(job.result_json);
  ASSERT_EQ(result["samples"].size(), 1U);
  EXPECT_EQ(result["samples"][0]["sample_id"], kExampleSampleId);
  EXPECT_EQ(result["samples"][0]["outcome"], "ingested");
  EXPECT_EQ(result["samples"][0]["particles"], 1000);  // the example run's particle count
  EXPECT_TRUE(result["classify_job_id"].is_null());
  EXPECT_EQ(job.progress_done, 1000);  // the last step of the run: 1000 of 1000
  EXPECT_EQ(job.progress_total, 1000);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_TRUE(LogHas(log, "queued by anna")) << LogText(log);
  EXPECT_TRUE(LogHas(log, "started (attempt 1)"));
  EXPECT_TRUE(LogHas(log, "unpacked vicko.zip"));
  EXPECT_TRUE(LogHas(log, ": ingested as sample " + kExampleSampleId + " (1000 particles)"));
  EXPECT_EQ(log.back().message, "succeeded");

  // The sample is stored with the sidecar's metadata, and the upload is gone.
  const std::optional<Sample> sample = stores_->Acquire()->FindSample(kExampleSampleId);
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(sample->particle_count, 1000);
  EXPECT_EQ(sample->metadata.station, "lab-culture");  // metadata.csv's "station"
  EXPECT_FALSE(fs::exists(input));
}

TEST_F(JobTest, IngestWithClassifyQueuesAClassifyJobWithTheActiveModel) {
  UseEmptyStore();
  JobQueue jobs(*state_, *stores_, models_, Options());
  const fs::path input = jobs.NewInputDir();
  WriteExampleZip(input / kUploadZipName);
  const Job ingest = WaitForEnd(
      jobs, jobs.SubmitIngest({.file_name = "a.zip", .classify = true}, input, "anna").id);
  ASSERT_EQ(ingest.state, JobState::kSucceeded) << ingest.error;
  const json result = json::parse(ingest.result_json);
  ASSERT_TRUE(result["classify_job_id"].is_number_integer()) << ingest.result_json;
  const Job classify = WaitForEnd(jobs, result["classify_job_id"].get<int64_t>());
  ASSERT_EQ(classify.state, JobState::kSucceeded) << classify.error;
  EXPECT_EQ(classify.created_by, "anna");
  EXPECT_EQ(json::parse(classify.params_json)["model_id"], "test-model-0123456789ab");
  const json classified = json::parse(classify.result_json);
  EXPECT_EQ(classified["samples"], 1);
  EXPECT_EQ(classified["particles"], 1000);
  EXPECT_EQ(classified["model_id"], "test-model-0123456789ab");

  // Every particle with a vignette got a prediction of the test model.
  const auto store = stores_->Acquire();
  int64_t with_image = 0;
  store->ScanParticles(kExampleSampleId, {.images = true}, [&](const Particle& particle) {
    with_image += particle.image_png.empty() ? 0 : 1;
  });
  int64_t predicted = 0;
  for (const Label& label : store->Labels(kExampleSampleId)) {
    predicted += label.classification == "test-model-0123456789ab" ? 1 : 0;
  }
  EXPECT_GT(with_image, 0);
  EXPECT_EQ(predicted, with_image);
}

TEST_F(JobTest, RefusesABadUploadBeforeMakingAJob) {
  JobQueue jobs(*state_, *stores_, models_, Options());
  for (const std::string name : {"traversal.zip", "truncated.zip", "bomb.zip"}) {
    const fs::path input = jobs.NewInputDir();
    fs::copy_file(fs::path("tests/data/zips") / name, input / kUploadZipName);
    try {
      jobs.SubmitIngest({.file_name = name}, input, "anna");
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput) << error.what();
      EXPECT_NE(std::string(error.what()).find(name), std::string::npos) << error.what();
    }
    EXPECT_FALSE(fs::exists(input)) << name;
  }
  // A malformed sidecar is refused as well, naming the client's file.
  const fs::path input = jobs.NewInputDir();
  WriteExampleZip(input / kUploadZipName);
  std::ofstream(input / "metadata.csv") << "run,latitude\nr1,north\n";
  try {
    jobs.SubmitIngest({.file_name = "a.zip", .metadata_name = "mine.csv"}, input, "anna");
    ADD_FAILURE() << "a malformed sidecar was accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("metadata: mine.csv:2"), std::string::npos)
        << error.what();
  }
  EXPECT_EQ(jobs.List({}).total, 0);
}

// ---------------------------------------------------------------------------------------------
// Classify, export, train

TEST_F(JobTest, ChecksRequestsBeforeQueueing) {
  JobQueue jobs(*state_, *stores_, models_, Options(/*workers=*/0));
  const auto code_of = [](const std::function<void()>& submit) {
    try {
      submit();
    } catch (const Error& error) {
      return error.Code();
    }
    return ErrorCode::kInternal;  // accepted: not what these requests should be
  };
  EXPECT_EQ(code_of([&] { jobs.SubmitClassify({.samples = {"nope"}}, "anna"); }),
            ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { jobs.SubmitClassify({}, "anna"); }), ErrorCode::kInvalidInput);
  EXPECT_EQ(code_of([&] { jobs.SubmitClassify({.all = true, .model_id = "nope"}, "anna"); }),
            ErrorCode::kNotFound);
  EXPECT_EQ(
      code_of([&] { jobs.SubmitExport({.format = "csv", .samples = {kExampleSampleId}}, "a"); }),
      ErrorCode::kInvalidInput);
  EXPECT_EQ(code_of([&] {
              jobs.SubmitExport({.format = "ecotaxa", .samples = {kExampleSampleId, "x"}}, "a");
            }),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(code_of([&] { jobs.SubmitTrain({.epochs = 0}, "anna"); }), ErrorCode::kInvalidInput);
  EXPECT_EQ(code_of([&] { jobs.SubmitTrain({.context = "colour"}, "anna"); }),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(code_of([&] { jobs.SubmitTrain({.base_model_id = "nope"}, "anna"); }),
            ErrorCode::kNotFound);
  EXPECT_EQ(jobs.List({}).total, 0);

  // Without a trainer (no LibTorch) train jobs are refused; without a model, classify jobs.
  JobQueueOptions no_trainer = Options(0);
  no_trainer.train = nullptr;
  ModelCatalog no_models;
  JobQueue plain(*state_, *stores_, no_models, no_trainer);
  EXPECT_EQ(code_of([&] { plain.SubmitTrain({}, "anna"); }), ErrorCode::kUnavailable);
  EXPECT_EQ(code_of([&] { plain.SubmitClassify({.all = true}, "anna"); }), ErrorCode::kUnavailable);
}

TEST_F(JobTest, ExportJobLeavesADownloadableResult) {
  auto state = OpenSqliteServiceState(":memory:");
  TokenRegistry tokens(*state);
  const std::string viewer = tokens.Create("vera", Role::kViewer).secret;
  const std::string annotator = tokens.Create("anna", Role::kAnnotator).secret;
  JobQueue jobs(*state, *stores_, models_, Options());
  Service service(*stores_, models_, &tokens, {.temp_dir = folder_}, &jobs);

  HttpRequest create{.method = "POST", .path = "/api/v1/jobs"};
  create.headers = {{"authorization", "Bearer " + annotator}, {"content-type", "application/json"}};
  create.body =
      json({{"kind", "export"}, {"format", "ecotaxa"}, {"samples", {kExampleSampleId}}}).dump();
  const HttpResponse created = service.Handle(create);
  ASSERT_EQ(created.status, 202) << created.body;
  const int64_t id = json::parse(created.body)["id"];
  EXPECT_EQ(created.Header("Location"), "/api/v1/jobs/" + std::to_string(id));
  const Job job = WaitForEnd(jobs, id);
  ASSERT_EQ(job.state, JobState::kSucceeded) << job.error;
  const json result = json::parse(job.result_json);
  const std::string name = "job-" + std::to_string(id) + "-ecotaxa.zip";
  EXPECT_EQ(result["file"], name);
  EXPECT_EQ(result["bytes"], fs::file_size(job.result_file));

  HttpRequest download{.method = "GET", .path = "/api/v1/jobs/" + std::to_string(id) + "/result"};
  download.headers = {{"authorization", "Bearer " + viewer}};
  const HttpResponse response = service.Handle(download);
  ASSERT_EQ(response.status, 200) << response.body;
  ASSERT_TRUE(response.file.has_value());
  EXPECT_FALSE(response.remove_file_after);  // downloadable again
  EXPECT_EQ(response.content_type, "application/zip");
  EXPECT_EQ(response.Header("Content-Disposition"), "attachment; filename=\"" + name + "\"");
  // One TSV and one PNG per object (ExportEcoTaxa).
  const std::vector<ZipEntry> entries = ReadZip(*response.file);
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.front().name, "ecotaxa_" + kExampleSampleId + ".tsv");
  EXPECT_TRUE(
      LogHas(jobs.Log(id), "EcoTaxa package: " + std::to_string(entries.size() - 1) + " objects"))
      << LogText(jobs.Log(id));

  // A job without a file has no result to download.
  HttpRequest none = download;
  none.path = "/api/v1/jobs/999/result";
  EXPECT_EQ(service.Handle(none).status, 404);
}

TEST_F(JobTest, TrainsOnTheValidatedLabels) {
  ValidateTwentyParticles();
  JobQueue jobs(*state_, *stores_, models_, Options());
  const Job job = WaitForEnd(
      jobs,
      jobs.SubmitTrain({.epochs = 7, .context = "none", .base_model_id = "test-model-0123456789ab"},
                       "ada")
          .id);
  ASSERT_EQ(job.state, JobState::kSucceeded) << job.error << LogText(jobs.Log(job.id));
  EXPECT_EQ(trainer_->classes, (std::vector<std::string>{"Ciliophora", "Dinoflagellata"}));
  // 10 labels per class, 20 % of each kept to validate: 2 + 2 validate, 8 + 8 train.
  EXPECT_EQ(trainer_->validation_items, 4U);
  EXPECT_EQ(trainer_->train_items, 16U);
  EXPECT_EQ(trainer_->epochs, 7);
  EXPECT_EQ(trainer_->context, ContextMode::kNone);
  EXPECT_EQ(trainer_->base_id, "test-model-0123456789ab");

  const std::string name = "phytoflow-job-" + std::to_string(job.id);
  const json result = json::parse(job.result_json);
  EXPECT_EQ(result["model_id"], name + "-0123456789ab");
  EXPECT_EQ(result["top1"], 0.75);
  EXPECT_EQ(result["macro_f1"], 0.5);
  EXPECT_TRUE(fs::exists(folder_ / "models" / (name + ".pt")));
  EXPECT_EQ(job.progress_done, 3);  // the fake trainer's 3 steps
  EXPECT_EQ(job.progress_total, 3);
}

TEST_F(JobTest, TrainingNeedsTwoValidatedClasses) {
  JobQueue jobs(*state_, *stores_, models_, Options());
  const Job none = WaitForEnd(jobs, jobs.SubmitTrain({}, "ada").id);
  EXPECT_EQ(none.state, JobState::kFailed);
  EXPECT_NE(none.error.find("no particles with images labelled by source 'expert'"),
            std::string::npos)
      << none.error;

  std::vector<int64_t> numbers = {1, 2, 3};
  ValidateParticles(*stores_->Acquire(),
                    kExampleSampleId,
                    {.particle_numbers = numbers, .label = "Ciliophora"},
                    "anna");
  const Job one = WaitForEnd(jobs, jobs.SubmitTrain({}, "ada").id);
  EXPECT_EQ(one.state, JobState::kFailed);
  EXPECT_NE(one.error.find("at least 2 classes; the store has 3 validated particles in 1 class"),
            std::string::npos)
      << one.error;
}

// ---------------------------------------------------------------------------------------------
// Cancellation

TEST_F(JobTest, CancelsAQueuedJobAtOnce) {
  JobQueue jobs(*state_, *stores_, models_, Options(/*workers=*/0));
  const Job job = jobs.SubmitExport({.format = "dwca", .samples = {kExampleSampleId}}, "anna");
  const std::optional<Job> cancelled = jobs.Cancel(job.id);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_FALSE(cancelled->finished_at.empty());
  EXPECT_TRUE(LogHas(jobs.Log(job.id), "cancelled before it started"));
  // A finished job cannot be cancelled again; an unknown one is not found.
  try {
    jobs.Cancel(job.id);
    ADD_FAILURE() << "a cancelled job was cancelled again";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kConflict);
  }
  EXPECT_FALSE(jobs.Cancel(999).has_value());
}

TEST_F(JobTest, CancelsARunningJobAtItsNextProgressStep) {
  ValidateTwentyParticles();
  trainer_->steps = 1000;
  trainer_->step_pause = std::chrono::milliseconds(5);
  std::future<void> started = trainer_->started.get_future();
  JobQueue jobs(*state_, *stores_, models_, Options());
  const Job job = jobs.SubmitTrain({}, "ada");
  ASSERT_EQ(started.wait_for(kPatience), std::future_status::ready);
  const std::optional<Job> asked = jobs.Cancel(job.id);
  ASSERT_TRUE(asked.has_value());
  EXPECT_EQ(asked->state, JobState::kRunning);
  EXPECT_TRUE(asked->cancel_requested);
  const Job ended = WaitForEnd(jobs, job.id);
  EXPECT_EQ(ended.state, JobState::kCancelled);
  EXPECT_LT(trainer_->steps_done, 1000);  // stopped midway, not run to the end
  const fs::path model = folder_ / "models" / ("phytoflow-job-" + std::to_string(job.id) + ".pt");
  EXPECT_FALSE(fs::exists(model));
  EXPECT_FALSE(fs::exists(model.string() + ".checkpoint"));  // the trainer's, left at the stop
  const std::vector<JobLogLine> log = jobs.Log(job.id);
  EXPECT_TRUE(LogHas(log, "cancellation requested")) << LogText(log);
  EXPECT_EQ(log.back().message, "cancelled");
}

// The test classifier, held at its first batch: it tells when it starts and then waits until
// the test lets it go on, so that a test can cancel a classify job in the middle of a sample
// however slow the machine is.
class SlowClassifier : public testing_support::TestClassifier {
 public:
  SlowClassifier(std::promise<void>& started, std::shared_future<void> go_on)
      : TestClassifier(testing_support::TestModelInfo()),
        started_(started),
        go_on_(std::move(go_on)) {}
  std::vector<float> Probabilities(std::span<const Image> images,
                                   std::span<const ParticleContext> contexts) override {
    if (!signalled_) {
      signalled_ = true;
      started_.set_value();
      go_on_.wait_for(kPatience);
    }
    return TestClassifier::Probabilities(images, contexts);
  }

 private:
  std::promise<void>& started_;
  std::shared_future<void> go_on_;
  bool signalled_ = false;
};

TEST_F(JobTest, CancelsAClassifyJobMidSampleWithoutWritingPredictions) {
  std::promise<void> started;
  std::promise<void> go_on;
  const std::shared_future<void> cancelled = go_on.get_future().share();
  ModelCatalog slow_models(
      {"slow-model.pt"},
      [](const fs::path&) { return testing_support::TestModelInfo(); },
      [&started, cancelled](const fs::path&) {
        return std::make_unique<SlowClassifier>(started, cancelled);
      });
  JobQueue jobs(*state_, *stores_, slow_models, Options());
  const Job job = jobs.SubmitClassify({.samples = {kExampleSampleId}}, "anna");
  ASSERT_EQ(started.get_future().wait_for(kPatience), std::future_status::ready);
  jobs.Cancel(job.id);
  go_on.set_value();
  const Job ended = WaitForEnd(jobs, job.id);
  EXPECT_EQ(ended.state, JobState::kCancelled) << ended.error;
  // The sample's predictions are replaced in one transaction at its end: none were written.
  for (const Label& label : stores_->Acquire()->Labels(kExampleSampleId)) {
    EXPECT_NE(label.classification, "test-model-0123456789ab");
  }
  EXPECT_EQ(json::parse(ended.result_json)["samples"], 0);  // what it achieved: nothing
}

// A state whose job log cannot be written (the rest works), to fail a step after AddJob.
class StateWithoutLog : public ServiceState {
 public:
  explicit StateWithoutLog(ServiceState& state) : state_(state) {}
  ApiToken AddToken(const std::string& name,
                    Role role,
                    const std::string& secret_sha256,
                    const std::string& created_at) override {
    return state_.AddToken(name, role, secret_sha256, created_at);
  }
  std::vector<ApiToken> Tokens() const override { return state_.Tokens(); }
  std::optional<ApiToken> FindToken(const std::string& secret_sha256) const override {
    return state_.FindToken(secret_sha256);
  }
  bool RevokeToken(int64_t id, const std::string& at) override {
    return state_.RevokeToken(id, at);
  }
  void TouchToken(int64_t id, const std::string& at) override { state_.TouchToken(id, at); }
  std::optional<std::string> Setting(const std::string& key) const override {
    return state_.Setting(key);
  }
  void SetSetting(const std::string& key, const std::string& value) override {
    state_.SetSetting(key, value);
  }
  Job AddJob(const Job& job, const std::string& at) override { return state_.AddJob(job, at); }
  std::optional<Job> FindJob(int64_t id) const override { return state_.FindJob(id); }
  JobPage ListJobs(const JobFilter& filter) const override { return state_.ListJobs(filter); }
  std::optional<Job> ClaimNextJob(const std::string& at) override {
    return state_.ClaimNextJob(at);
  }
  void UpdateJobProgress(int64_t id,
                         int64_t done,
                         int64_t total,
                         const std::string& message) override {
    state_.UpdateJobProgress(id, done, total, message);
  }
  void AppendJobLog(int64_t, const std::string&, const std::string&) override {
    throw Error(ErrorCode::kUnavailable, "the job log is not writable");
  }
  std::vector<JobLogLine> JobLog(int64_t id) const override { return state_.JobLog(id); }
  bool FinishJob(int64_t id, const JobOutcome& outcome, const std::string& at) override {
    return state_.FinishJob(id, outcome, at);
  }
  bool RequeueJob(int64_t id) override { return state_.RequeueJob(id); }
  std::optional<Job> RequestJobCancel(int64_t id, const std::string& at) override {
    return state_.RequestJobCancel(id, at);
  }
  std::vector<Job> RecoverInterruptedJobs(int max_attempts, const std::string& at) override {
    return state_.RecoverInterruptedJobs(max_attempts, at);
  }

 private:
  ServiceState& state_;
};

TEST_F(JobTest, AQueuedIngestKeepsItsUploadWhenTheLogCannotBeWritten) {
  StateWithoutLog state(*state_);
  JobQueue jobs(state, *stores_, models_, Options(/*workers=*/0));
  const fs::path input = jobs.NewInputDir();
  WriteExampleZip(input / kUploadZipName);
  // The job is stored before its first log line fails: it is queued, so its upload stays.
  const Job queued = jobs.SubmitIngest({.file_name = "vicko.zip"}, input, "anna");
  EXPECT_EQ(state_->FindJob(queued.id)->state, JobState::kQueued);
  EXPECT_TRUE(fs::exists(input / kUploadZipName));
}

// ---------------------------------------------------------------------------------------------
// Restarts

TEST_F(JobTest, RequeuesAJobInterruptedByARestartAndRunsIt) {
  // A server died while job 1 ran its first attempt (attempts 1 < 2).
  const Job added = state_->AddJob(
      {.kind = "export",
       .params_json = json({{"format", "ecotaxa"}, {"samples", {kExampleSampleId}}}).dump(),
       .created_by = "anna"},
      "2026-01-01T00:00:00Z");
  ASSERT_EQ(state_->ClaimNextJob("2026-01-01T00:00:01Z")->attempts, 1);
  {
    JobQueue idle(*state_, *stores_, models_, Options(/*workers=*/0));
    const Job recovered = *idle.Find(added.id);
    EXPECT_EQ(recovered.state, JobState::kQueued);
    EXPECT_TRUE(LogHas(idle.Log(added.id), "interrupted by a restart; queued again (tried 1 of 2"))
        << LogText(idle.Log(added.id));
  }
  JobQueue jobs(*state_, *stores_, models_, Options());
  const Job job = WaitForEnd(jobs, added.id);
  EXPECT_EQ(job.state, JobState::kSucceeded) << job.error;
  EXPECT_EQ(job.attempts, 2);
}

TEST_F(JobTest, FailsAJobInterruptedOnItsLastAttempt) {
  const fs::path input = folder_ / "uploads" / "upload-left";
  fs::create_directories(input);
  const Job added = state_->AddJob(
      {.kind = "ingest", .params_json = "{}", .created_by = "anna", .input_dir = input.string()},
      "2026-01-01T00:00:00Z");
  state_->ClaimNextJob("2026-01-01T00:00:01Z");
  state_->RecoverInterruptedJobs(2, "2026-01-01T00:01:00Z");  // a first restart: queued again
  ASSERT_EQ(state_->ClaimNextJob("2026-01-01T00:01:01Z")->attempts, 2);

  JobQueue jobs(*state_, *stores_, models_, Options(/*workers=*/0));
  const Job job = *jobs.Find(added.id);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.error, "interrupted by a restart");
  EXPECT_TRUE(LogHas(jobs.Log(added.id), "failed after 2 attempts"));
  EXPECT_FALSE(fs::exists(input));  // its upload is gone with it
}

TEST_F(JobTest, StoppingInterruptsARunningJobWhichTheNextStartRunsAgain) {
  ValidateTwentyParticles();
  trainer_->steps = 100000;
  trainer_->step_pause = std::chrono::milliseconds(1);
  std::future<void> started = trainer_->started.get_future();
  int64_t id = 0;
  {
    JobQueue jobs(*state_, *stores_, models_, Options());
    id = jobs.SubmitTrain({}, "ada").id;
    ASSERT_EQ(started.wait_for(kPatience), std::future_status::ready);
    jobs.Stop();
    // A graceful stop is no crash: queued again at once, its attempt given back (1 - 1 = 0).
    const Job stopped = *jobs.Find(id);
    EXPECT_EQ(stopped.state, JobState::kQueued);
    EXPECT_EQ(stopped.attempts, 0);
    EXPECT_TRUE(LogHas(jobs.Log(id), "interrupted: the server is stopping; queued again"));
  }
  // A second deploy interrupts it again: still not counted, so it is never failed for it.
  trainer_ = std::make_unique<FakeTrainer>();
  trainer_->steps = 100000;
  trainer_->step_pause = std::chrono::milliseconds(1);
  started = trainer_->started.get_future();
  {
    JobQueue jobs(*state_, *stores_, models_, Options());
    ASSERT_EQ(started.wait_for(kPatience), std::future_status::ready);
    jobs.Stop();
    EXPECT_EQ(jobs.Find(id)->attempts, 0);
  }
  trainer_ = std::make_unique<FakeTrainer>();
  JobQueue jobs(*state_, *stores_, models_, Options());
  const Job job = WaitForEnd(jobs, id);
  EXPECT_EQ(job.state, JobState::kSucceeded) << job.error;
  EXPECT_EQ(job.attempts, 1);
  EXPECT_FALSE(LogHas(jobs.Log(id), "interrupted by a restart")) << LogText(jobs.Log(id));
}

TEST_F(JobTest, WorkersWaitForStartWhenAskedTo) {
  JobQueueOptions options = Options();
  options.start = false;  // as the server does, to restore the active model first
  JobQueue jobs(*state_, *stores_, models_, std::move(options));
  const Job added = jobs.SubmitExport({.format = "ecotaxa", .samples = {kExampleSampleId}}, "anna");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(jobs.Find(added.id)->state, JobState::kQueued);  // no worker claimed it
  jobs.Start();
  jobs.Start();  // idempotent: still one worker
  const Job job = WaitForEnd(jobs, added.id);
  EXPECT_EQ(job.state, JobState::kSucceeded) << job.error;
  EXPECT_EQ(job.attempts, 1);
}

TEST_F(JobTest, SeesACancellationWrittenByAnotherProcess) {
  ValidateTwentyParticles();
  trainer_->steps = 1000;
  trainer_->step_pause = std::chrono::milliseconds(5);  // 5 s in all
  std::future<void> started = trainer_->started.get_future();
  JobQueue jobs(*state_, *stores_, models_, Options());
  const Job job = jobs.SubmitTrain({}, "ada");
  ASSERT_EQ(started.wait_for(kPatience), std::future_status::ready);
  // Another process (here: another connection) flags the job in the state only.
  const std::unique_ptr<ServiceState> other = OpenSqliteServiceState(folder_ / "state.db");
  EXPECT_TRUE(other->RequestJobCancel(job.id, "2026-01-01T00:00:00Z")->cancel_requested);
  const Job ended = WaitForEnd(jobs, job.id);
  EXPECT_EQ(ended.state, JobState::kCancelled);
  EXPECT_LT(trainer_->steps_done, 1000);
}

TEST_F(JobTest, RemovesUploadsThatNoUnfinishedJobNeedsAtStart) {
  const fs::path uploads = folder_ / "uploads";
  const fs::path needed = uploads / "upload-queued";
  const fs::path finished = uploads / "upload-finished";
  const fs::path orphan = uploads / "upload-orphan";
  for (const fs::path& folder : {needed, finished, orphan}) {
    fs::create_directories(folder);
    std::ofstream(folder / kUploadZipName) << "zip";
  }
  std::ofstream(uploads / "phytoflow-part-abc123") << "half an upload";
  fs::create_directories(uploads / "results");
  std::ofstream(uploads / "results" / "job-1.zip") << "kept";
  state_->AddJob({.kind = "ingest", .created_by = "anna", .input_dir = needed.string()},
                 "2026-01-01T00:00:00Z");
  state_->AddJob({.kind = "ingest", .created_by = "anna", .input_dir = finished.string()},
                 "2026-01-01T00:00:00Z");
  state_->RequestJobCancel(2, "2026-01-01T00:00:01Z");  // finished: its folder is not needed

  JobQueue jobs(*state_, *stores_, models_, Options(/*workers=*/0));
  EXPECT_TRUE(fs::exists(needed / kUploadZipName));
  EXPECT_FALSE(fs::exists(finished));
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_FALSE(fs::exists(uploads / "phytoflow-part-abc123"));
  EXPECT_TRUE(fs::exists(uploads / "results" / "job-1.zip"));  // results are kept (docs/api.md)
}

// ---------------------------------------------------------------------------------------------
// Routes

class JobRoutesTest : public JobTest {
 protected:
  JobRoutesTest()
      : tokens_(*route_state_),
        viewer_(tokens_.Create("vera", Role::kViewer).secret),
        annotator_(tokens_.Create("anna", Role::kAnnotator).secret),
        admin_(tokens_.Create("ada", Role::kAdmin).secret),
        jobs_(*route_state_, *stores_, models_, Options(/*workers=*/0)),
        service_(*stores_, models_, &tokens_, {.temp_dir = folder_}, &jobs_) {}

  HttpResponse Call(const std::string& method,
                    const std::string& path,
                    const std::string& token,
                    const std::string& body = "",
                    std::multimap<std::string, std::string> query = {}) {
    HttpRequest request{.method = method, .path = path, .query = std::move(query), .body = body};
    if (!token.empty()) {
      request.headers["authorization"] = "Bearer " + token;
    }
    if (!body.empty()) {
      request.headers["content-type"] = "application/json";
    }
    return service_.Handle(std::move(request));
  }

  // An upload as the adapter gives it: the zip streamed to a file of its own.
  HttpRequest Upload(const fs::path& zip, const std::string& token) {
    const fs::path streamed = folder_ / "uploads" / ("phytoflow-part-" + TestName());
    fs::copy_file(zip, streamed, fs::copy_options::overwrite_existing);
    HttpRequest request{.method = "POST", .path = "/api/v1/uploads"};
    request.headers = {{"authorization", "Bearer " + token},
                       {"content-type", "multipart/form-data; boundary=x"}};
    request.parts.push_back(
        UploadedPart{.name = "file", .filename = zip.filename().string(), .file = streamed});
    return request;
  }

  std::unique_ptr<ServiceState> route_state_ = OpenSqliteServiceState(":memory:");
  TokenRegistry tokens_;
  std::string viewer_;
  std::string annotator_;
  std::string admin_;
  JobQueue jobs_;
  Service service_;
};

void ExpectStatus(const HttpResponse& response, int status, const std::string& code = "") {
  EXPECT_EQ(response.status, status) << response.body;
  if (!code.empty()) {
    EXPECT_EQ(json::parse(response.body)["error"]["code"], code) << response.body;
  }
}

TEST_F(JobRoutesTest, UploadTakesTheStreamedFileAndQueuesAnIngest) {
  const fs::path zip = folder_ / "export.zip";
  WriteExampleZip(zip);
  HttpRequest request = Upload(zip, annotator_);
  const fs::path streamed = *request.parts[0].file;
  const HttpResponse response = service_.Handle(request);
  ASSERT_EQ(response.status, 202) << response.body;
  const json job = json::parse(response.body);
  EXPECT_EQ(job["kind"], "ingest");
  EXPECT_EQ(job["state"], "queued");
  EXPECT_EQ(job["params"],
            json({{"file", "export.zip"},
                  {"metadata", nullptr},
                  {"replace", false},
                  {"classify", false}}));
  EXPECT_EQ(job["created_by"], "anna");
  EXPECT_TRUE(job["result_url"].is_null());
  EXPECT_EQ(response.Header("Location"), "/api/v1/jobs/" + std::to_string(job["id"].get<int>()));
  EXPECT_FALSE(fs::exists(streamed));  // moved into the job's folder
  const std::string input_dir = jobs_.Find(job["id"])->input_dir;
  EXPECT_TRUE(fs::exists(fs::path(input_dir) / kUploadZipName));
}

TEST_F(JobRoutesTest, RefusesBadUploadsAndStoresNothing) {
  ExpectStatus(service_.Handle(Upload("tests/data/zips/traversal.zip", viewer_)), 403, "forbidden");
  const HttpResponse traversal =
      service_.Handle(Upload("tests/data/zips/traversal.zip", annotator_));
  ExpectStatus(traversal, 422, "invalid_input");
  EXPECT_NE(traversal.body.find("traversal.zip: entry '../evil.txt'"), std::string::npos)
      << traversal.body;
  HttpRequest no_file = Upload("tests/data/zips/good.zip", annotator_);
  no_file.parts[0].name = "zip";
  ExpectStatus(service_.Handle(no_file), 400, "bad_request");
  HttpRequest bad_flag = Upload("tests/data/zips/good.zip", annotator_);
  bad_flag.parts.push_back(UploadedPart{.name = "replace", .content = "perhaps"});
  ExpectStatus(service_.Handle(bad_flag), 400, "bad_request");
  HttpRequest bad_sidecar = Upload("tests/data/zips/good.zip", annotator_);
  bad_sidecar.parts.push_back(
      UploadedPart{.name = "metadata", .filename = "notes.txt", .content = "x"});
  ExpectStatus(service_.Handle(bad_sidecar), 422, "invalid_input");
  HttpRequest json_body = Upload("tests/data/zips/good.zip", annotator_);
  json_body.headers["content-type"] = "application/json";
  ExpectStatus(service_.Handle(json_body), 415, "unsupported_media_type");
  EXPECT_EQ(jobs_.List({}).total, 0);
  // Only the adapter's streamed copies are left (it removes them after the response), no folder.
  for (const auto& entry : fs::directory_iterator(folder_ / "uploads")) {
    EXPECT_EQ(entry.path().filename().string().rfind("phytoflow-part-", 0), 0U) << entry.path();
  }
}

TEST_F(JobRoutesTest, CreatesListsShowsAndCancelsJobs) {
  ExpectStatus(Call("POST", "/api/v1/jobs", viewer_, R"({"kind": "export"})"), 403, "forbidden");
  ExpectStatus(Call("POST", "/api/v1/jobs", annotator_, R"({"kind": "train"})"), 403, "forbidden");
  ExpectStatus(Call("POST", "/api/v1/jobs", annotator_, R"({"kind": "ingest"})"), 400);
  ExpectStatus(Call("POST", "/api/v1/jobs", annotator_, R"({"kind": "export", "colour": 1})"), 400);
  ExpectStatus(Call("POST", "/api/v1/jobs", annotator_, R"({"kind": "export",)"), 400);
  ExpectStatus(Call("POST",
                    "/api/v1/jobs",
                    annotator_,
                    R"({"kind": "export", "format": "dwca", "samples": ["nope"]})"),
               404,
               "not_found");
  ExpectStatus(
      Call("POST", "/api/v1/jobs", annotator_, R"({"kind": "classify"})"), 422, "invalid_input");

  const std::string export_body =
      json({{"kind", "export"}, {"format", "dwca"}, {"samples", {kExampleSampleId}}}).dump();
  ExpectStatus(Call("POST", "/api/v1/jobs", annotator_, export_body), 202);
  ExpectStatus(Call("POST", "/api/v1/jobs", annotator_, R"({"kind": "classify", "all": true})"),
               202);
  ExpectStatus(Call("POST", "/api/v1/jobs", admin_, R"({"kind": "train", "epochs": 3})"), 202);

  const HttpResponse listed = Call("GET", "/api/v1/jobs", viewer_, "", {{"limit", "2"}});
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json page = json::parse(listed.body);
  EXPECT_EQ(page["total"], 3);
  ASSERT_EQ(page["jobs"].size(), 2U);
  EXPECT_EQ(page["jobs"][0]["kind"], "train");  // newest first
  EXPECT_EQ(page["jobs"][1]["kind"], "classify");
  EXPECT_EQ(
      json::parse(Call("GET", "/api/v1/jobs", viewer_, "", {{"kind", "export"}}).body)["total"], 1);
  ExpectStatus(Call("GET", "/api/v1/jobs", viewer_, "", {{"state", "done"}}), 400);
  ExpectStatus(Call("GET", "/api/v1/jobs", "", ""), 401, "unauthorized");

  const json shown = json::parse(Call("GET", "/api/v1/jobs/1", viewer_).body);
  EXPECT_EQ(shown["params"], json({{"format", "dwca"}, {"samples", {kExampleSampleId}}}));
  EXPECT_EQ(shown["progress"],
            json({{"done", 0}, {"total", 0}, {"fraction", nullptr}, {"message", ""}}));
  ExpectStatus(Call("GET", "/api/v1/jobs/99", viewer_), 404, "not_found");
  ExpectStatus(Call("GET", "/api/v1/jobs/x1", viewer_), 400, "bad_request");

  ExpectStatus(Call("POST", "/api/v1/jobs/1/cancel", viewer_), 403, "forbidden");
  const HttpResponse cancelled = Call("POST", "/api/v1/jobs/1/cancel", annotator_);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(json::parse(cancelled.body)["state"], "cancelled");
  ExpectStatus(Call("POST", "/api/v1/jobs/1/cancel", annotator_), 409, "conflict");
  ExpectStatus(Call("POST", "/api/v1/jobs/99/cancel", annotator_), 404, "not_found");
  // Job 3 is the admin's train job: cancelling needs the role that creating it needs.
  ExpectStatus(Call("POST", "/api/v1/jobs/3/cancel", annotator_), 403, "forbidden");
  EXPECT_EQ(json::parse(Call("GET", "/api/v1/jobs/3", viewer_).body)["state"], "queued");
  ExpectStatus(Call("POST", "/api/v1/jobs/3/cancel", admin_), 200);

  const HttpResponse log = Call("GET", "/api/v1/jobs/1/log", viewer_);
  ASSERT_EQ(log.status, 200);
  EXPECT_EQ(log.content_type, "text/plain; charset=utf-8");
  EXPECT_NE(log.body.find("Z queued by anna\n"), std::string::npos) << log.body;
  EXPECT_NE(log.body.find("Z cancelled before it started\n"), std::string::npos) << log.body;
  ExpectStatus(Call("GET", "/api/v1/jobs/1/result", viewer_), 404, "not_found");
}

TEST_F(JobRoutesTest, WithoutAQueueTheRoutesAreUnavailable) {
  Service without(*stores_, models_, &tokens_, {.temp_dir = folder_});
  HttpRequest request{.method = "GET", .path = "/api/v1/jobs"};
  request.headers["authorization"] = "Bearer " + viewer_;
  ExpectStatus(without.Handle(request), 503, "unavailable");
}

// The job routes are in the OpenAPI document with the statuses their happy paths give, and its
// 401/403 follow each route's access rule (server_test checks the same for the other routes).
TEST_F(JobRoutesTest, OpenApiDocumentsTheJobRoutes) {
  const fs::path zip = folder_ / "export.zip";
  WriteExampleZip(zip);
  ASSERT_EQ(service_.Handle(Upload(zip, annotator_)).status, 202);  // job 1
  const std::map<std::string, std::vector<std::function<HttpResponse()>>> happy = {
      {"POST /api/v1/uploads", {[&] {
         return service_.Handle(Upload(zip, annotator_));
       }}},
      {"GET /api/v1/jobs", {[&] {
         return Call("GET", "/api/v1/jobs", viewer_);
       }}},
      {"POST /api/v1/jobs", {[&] {
         return Call(
             "POST",
             "/api/v1/jobs",
             annotator_,
             json({{"kind", "export"}, {"format", "ecotaxa"}, {"samples", {kExampleSampleId}}})
                 .dump());
       }}},
      {"GET /api/v1/jobs/{id}", {[&] {
         return Call("GET", "/api/v1/jobs/1", viewer_);
       }}},
      {"GET /api/v1/jobs/{id}/log", {[&] {
         return Call("GET", "/api/v1/jobs/1/log", viewer_);
       }}},
      {"POST /api/v1/jobs/{id}/cancel", {[&] {
         return Call("POST", "/api/v1/jobs/1/cancel", annotator_);
       }}},
      {"GET /api/v1/jobs/{id}/result", {[&] {
         // Run the queued export (job 3) to have a result.
         JobQueue worker(*route_state_, *stores_, models_, Options(/*workers=*/1));
         WaitForEnd(worker, 3);
         return Call("GET", "/api/v1/jobs/3/result", viewer_);
       }}},
  };
  const json document = json::parse(OpenApiDocument());
  std::set<std::string> job_routes;
  for (const Route& route : service_.Routes().Routes()) {
    if (route.pattern.rfind("/api/v1/jobs", 0) != 0 && route.pattern != "/api/v1/uploads") {
      continue;
    }
    const std::string key = route.method + " " + route.pattern;
    job_routes.insert(key);
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    ASSERT_TRUE(document["paths"].contains(route.pattern)) << key;
    const json& responses = document["paths"][route.pattern][method]["responses"];
    ASSERT_TRUE(responses.is_object()) << key << " is not documented";
    const auto requests = happy.find(key);
    ASSERT_NE(requests, happy.end()) << key;
    std::set<int> produced;
    for (const auto& call : requests->second) {
      const HttpResponse response = call();
      produced.insert(response.status);
      EXPECT_TRUE(responses.contains(std::to_string(response.status)))
          << key << " answered " << response.status << ": " << response.body.substr(0, 300);
    }
    for (const auto& [status, ignored] : responses.items()) {
      if (status[0] == '2') {
        EXPECT_TRUE(produced.count(std::stoi(status))) << key << " never gives " << status;
      }
    }
    EXPECT_EQ(responses.contains("401"), route.access != Access::kPublic) << key;
    EXPECT_EQ(responses.contains("403"),
              route.access == Access::kAnnotator || route.access == Access::kAdmin)
        << key;
  }
  EXPECT_EQ(job_routes.size(), happy.size());
}

}  // namespace
}  // namespace phytoflow
