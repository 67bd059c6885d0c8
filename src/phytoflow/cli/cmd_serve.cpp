// serve: the HTTP service (docs/api.md). Resolves the settings (flags > PHYTOFLOW_* > --config
// file > defaults), locks the service state (one server per state), opens the store, the state
// and the models, starts the background jobs, and serves until SIGINT or SIGTERM, letting the
// requests in flight finish (a running job is queued again, its attempt not counted). A second
// SIGINT or SIGTERM ends the process at once.

#include "phytoflow/cli/commands.h"
#include "phytoflow/cli/default_model.h"
#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"
#include "phytoflow/server/accounts.h"
#include "phytoflow/server/http_server.h"
#include "phytoflow/server/job_queue.h"
#include "phytoflow/server/serve_config.h"
#include "phytoflow/server/service.h"
#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <fcntl.h>
#include <fmt/core.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#ifdef PHYTOFLOW_WITH_TORCH
#include "phytoflow/classify/torch/torch_model.h"
#endif

namespace phytoflow {
namespace {

namespace fs = std::filesystem;

struct ServeArguments {
  std::string config;
  // Flags as given, in order; only those on the command line (CLI11 callbacks add them).
  SettingValues flags;
};

std::string ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Check(in.is_open(), ErrorCode::kNotFound, path + ": no such config file (--config)");
  return {std::istreambuf_iterator<char>(in), {}};
}

// Where train jobs write their models: beside the service state, "<state>.models".
fs::path TrainedModelFolder(const fs::path& state_path) {
  fs::path folder = state_path;
  folder += ".models";
  return folder;
}

#ifdef PHYTOFLOW_WITH_TORCH
// The model files: those of --model / "model" first (the first is the active one), then the
// default model when it exists, then the models train jobs wrote (by name).
ModelCatalog OpenModels(const ServeSettings& settings, const fs::path& trained_models) {
  std::vector<fs::path> paths(settings.models.begin(), settings.models.end());
  const std::string default_model = DefaultModelPath();
  if (fs::exists(default_model)) {
    paths.emplace_back(default_model);
  }
  std::vector<fs::path> trained;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(trained_models, error)) {
    if (entry.path().extension() != ".pt") {
      continue;
    }
    // A damaged file there (a disk filled while a train job wrote it) must not keep the
    // server from starting: it is skipped, with a warning.
    try {
      ReadModelInfo(entry.path());
      trained.push_back(entry.path());
    } catch (const std::exception& unreadable) {
      fmt::print(stderr,
                 "phytoflow: warning: skipping the trained model {}: {}\n",
                 entry.path().string(),
                 unreadable.what());
    }
  }
  std::sort(trained.begin(), trained.end());
  paths.insert(paths.end(), trained.begin(), trained.end());
  return ModelCatalog(
      paths,
      [](const fs::path& path) { return ReadModelInfo(path); },
      [](const fs::path& path) { return OpenTorchClassifier(path, ClassifierOptions{}); });
}

// Train jobs: LibTorch's TrainModel on the job's datasets, keeping the base model's
// architecture, preprocessing and AphiaIDs when one is given.
TrainedModel TrainForJob(const TrainJobInput& input) {
  TrainOptions options{.name = input.name, .epochs = input.epochs, .context = input.context};
  if (input.base != nullptr) {
    options.architecture = input.base->architecture;
    options.image_size = input.base->preprocess.image_size;
    options.channels = input.base->preprocess.channels;
    options.class_info = input.base->classes;
  }
  options.on_progress = [&input](const TrainProgress& progress) {
    input.on_progress((progress.epoch - 1) * progress.steps + progress.step,
                      static_cast<int64_t>(progress.epochs) * progress.steps,
                      fmt::format("epoch {}/{}: loss {:.3f}, accuracy {:.3f}",
                                  progress.epoch,
                                  progress.epochs,
                                  progress.loss,
                                  progress.accuracy));
  };
  const TrainResult result = TrainModel(input.train, input.validation, options, input.model_path);
  std::error_code ignored;  // the per-epoch checkpoint is only for `train --resume`
  fs::remove(fs::path(input.model_path.string() + ".checkpoint"), ignored);
  return {.model_id = result.info.id,
          .top1 = result.validation.top1,
          .macro_f1 = result.validation.macro_f1};
}
#else
ModelCatalog OpenModels(const ServeSettings& settings, const fs::path& /*trained_models*/) {
  Check(settings.models.empty(),
        ErrorCode::kUnavailable,
        "--model: this phytoflow was built without LibTorch (PHYTOFLOW_WITH_TORCH=OFF) and cannot "
        "read model files");
  return ModelCatalog();
}
#endif

// An exclusive lock on "<state>.lock", held while the server runs: a second server on the same
// state would recover (requeue or fail) the jobs the first one is running.
class StateLock {
 public:
  explicit StateLock(const fs::path& state_path) {
    const std::string path = state_path.string() + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    Check(fd_ >= 0, ErrorCode::kUnavailable, path + ": cannot open the state's lock file");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(ErrorCode::kUnavailable,
                  state_path.string() +
                      ": another phytoflow server uses this service state (one server per "
                      "state; see docs/api.md, \"Uploads and background jobs\")");
    }
  }
  ~StateLock() { ::close(fd_); }  // releases the lock
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  int fd_ = -1;
};

// Waits for SIGINT or SIGTERM (blocked in every thread, see Serve) while the server runs.
// Returns the signal, or 0 when the server stopped by itself.
int WaitForSignal(const sigset_t& signals, const std::atomic<bool>& running) {
  const timespec poll{.tv_sec = 0, .tv_nsec = 200'000'000};
  while (running) {
    const int signal = sigtimedwait(&signals, nullptr, &poll);
    if (signal > 0) {
      return signal;
    }
  }
  return 0;
}

void Serve(const ServeArguments& arguments) {
  // Block the stop signals before any thread starts, so that every thread inherits the mask and
  // only WaitForSignal receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::vector<SettingValues> sources;
  std::string config = arguments.config;
  if (config.empty()) {
    const char* from_environment = std::getenv("PHYTOFLOW_CONFIG");
    config = from_environment != nullptr ? from_environment : "";
  }
  if (!config.empty()) {
    sources.push_back(SettingsFromJson(ReadConfigFile(config), config));
  }
  sources.push_back(SettingsFromEnvironment([](const char* name) { return std::getenv(name); }));
  sources.push_back(arguments.flags);
  const ServeSettings settings = ResolveServeSettings(sources);

  const std::string store_uri = settings.store;
  StorePool stores([&] { return OpenStore(store_uri); }, settings.store_connections);
  const fs::path state_path = ServiceStatePath(settings.store, settings.state);
  const StateLock state_lock(state_path);
  const std::unique_ptr<ServiceState> state = OpenSqliteServiceState(state_path);
  TokenRegistry tokens(*state);
  const fs::path trained_models = TrainedModelFolder(state_path);
  ModelCatalog models = OpenModels(settings, trained_models);

  std::mutex log_mutex;
  const auto log_line = [&log_mutex](const std::string& line) {
    const std::string text = NowUtcIso8601() + " " + line + "\n";
    std::lock_guard lock(log_mutex);
    std::fputs(text.c_str(), stderr);
  };
  std::optional<Taxonomy> taxonomy;
  if (!settings.taxonomy.empty()) {
    taxonomy = LoadTaxonomy(settings.taxonomy);
  }
  const fs::path upload_dir = UploadDirectory(state_path, settings.upload_dir);
  JobQueueOptions job_options{
      .workers = settings.job_workers,
      .upload_dir = upload_dir,
      .zip_limits = {.max_unpacked_bytes = static_cast<uint64_t>(settings.max_unpacked_mb) << 20},
      .taxonomy = taxonomy ? &*taxonomy : nullptr,
      .dataset_description = settings.dataset,
      .log = log_line};
  // The workers start once the Service has restored the active model, which a recovered ingest
  // with classify uses.
  job_options.start = false;
#ifdef PHYTOFLOW_WITH_TORCH
  job_options.model_dir = trained_models;
  job_options.train = TrainForJob;
#endif
  JobQueue jobs(*state, stores, models, std::move(job_options));
  Service service(
      stores,
      models,
      &tokens,
      ServiceOptions{.public_read = settings.public_read,
                     .image_cache_bytes = static_cast<size_t>(settings.image_cache_mb) << 20,
                     .dataset_description = settings.dataset,
                     .taxonomy = settings.taxonomy},
      &jobs);
  jobs.Start();

  HttpServerOptions server_options{
      .host = settings.host,
      .port = settings.port,
      .threads = settings.threads,
      .max_body_bytes = static_cast<size_t>(settings.max_body_mb) << 20,
      .streamed_upload_paths = {"/api/v1/uploads"},
      .upload_dir = upload_dir,
      .max_upload_bytes = static_cast<uint64_t>(settings.max_upload_mb) << 20,
      // Refuses an unauthorized request before its body is read (an anonymous upload).
      .preflight = [&service](const HttpRequest& head) {
        return service.Preflight(head);
      }};
  if (settings.access_log) {
    server_options.access_log = log_line;
  }
  HttpServer server([&service](HttpRequest request) { return service.Handle(std::move(request)); },
                    server_options);
  const int port = server.Bind();

  fmt::print(stderr,
             "phytoflow {}: serving {} on http://{}:{} ({} threads, {} model(s){}, reads {}, "
             "tokens and jobs in {}, uploads in {})\n",
             Version(),
             settings.store,
             settings.host,
             port,
             settings.threads,
             models.Models().size(),
             models.Active() != nullptr ? ", active " + models.Active()->info.id : "",
             settings.public_read ? "public" : "need a token",
             state_path.string(),
             upload_dir.string());
  if (!settings.public_read && tokens.List().empty()) {
    fmt::print(stderr,
               "phytoflow: no API token yet: create one with `phytoflow token create --role viewer "
               "--name NAME --store {}`, or serve with --public-read\n",
               settings.store);
  }
  std::fflush(stderr);

  std::atomic<bool> running{true};
  std::thread serving([&] {
    server.Run();
    running = false;
  });
  const int signal = WaitForSignal(signals, running);
  if (signal != 0) {
    fmt::print(stderr,
               "phytoflow: {} received, finishing the requests in flight (again: stop at once)\n",
               signal == SIGINT ? "SIGINT" : "SIGTERM");
    std::fflush(stderr);
    // A second signal ends the process at once: default handling, unblocked in this thread (the
    // others keep them blocked, so the kernel hands them here).
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  }
  server.Stop();
  serving.join();
  jobs.Stop();
  fmt::print(stderr, "phytoflow: stopped\n");
}

// Adds a flag whose value, when given, becomes the setting `key`.
void AddSettingOption(CLI::App& command,
                      ServeArguments& arguments,
                      const std::string& flag,
                      const std::string& key,
                      const std::string& help) {
  command
      .add_option_function<std::string>(
          flag,
          [&arguments, key](const std::string& value) { arguments.flags.emplace_back(key, value); },
          help)
      ->type_name("TEXT");
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto arguments = std::make_shared<ServeArguments>();
  CLI::App* command = app.add_subcommand(
      "serve",
      "Run the HTTP service: the REST API under /api/v1 with uploads and background jobs, "
      "DEEPaaS v2 under /v2, /healthz, /readyz (docs/api.md). Stops on SIGINT or SIGTERM after "
      "the requests in flight");
  AddSettingOption(*command,
                   *arguments,
                   "--store",
                   "store",
                   "Store: a SQLite file (PATH or sqlite:PATH) or mongodb://... (default: "
                   "$PHYTOFLOW_STORE or ./phytoflow.db)");
  AddSettingOption(*command,
                   *arguments,
                   "--state",
                   "state",
                   "Service state file with the API tokens (default: <store>.service.db beside a "
                   "SQLite store; required for MongoDB)");
  AddSettingOption(*command,
                   *arguments,
                   "--host",
                   "host",
                   "Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)");
  AddSettingOption(
      *command, *arguments, "--port", "port", "TCP port (default 8080; 0: any free port)");
  AddSettingOption(*command,
                   *arguments,
                   "--threads",
                   "threads",
                   "Request threads, the clients served at once (default 64)");
  command
      ->add_option_function<std::vector<std::string>>(
          "--model",
          [arguments](const std::vector<std::string>& models) {
            for (const std::string& model : models) {
              arguments->flags.emplace_back("model", model);
            }
          },
          "A model file to serve (repeatable; the first is used for predictions); the default "
          "model is added when it exists")
      ->type_name("FILE");
  AddSettingOption(*command,
                   *arguments,
                   "--dataset",
                   "dataset",
                   "dataset.json for the eml.xml of Darwin Core downloads");
  AddSettingOption(
      *command, *arguments, "--taxonomy", "taxonomy", "Taxonomy TSV (default: the built-in one)");
  AddSettingOption(*command,
                   *arguments,
                   "--max-body-mb",
                   "max_body_mb",
                   "Largest request body in MiB, uploads aside (default 64)");
  AddSettingOption(*command,
                   *arguments,
                   "--max-upload-mb",
                   "max_upload_mb",
                   "Largest upload (POST /api/v1/uploads, streamed to disk) in MiB (default 4096)");
  AddSettingOption(*command,
                   *arguments,
                   "--max-unpacked-mb",
                   "max_unpacked_mb",
                   "Largest unpacked size of an uploaded zip in MiB (default 16384)");
  AddSettingOption(*command,
                   *arguments,
                   "--upload-dir",
                   "upload_dir",
                   "Folder for uploads and job results (default: <state>.uploads)");
  AddSettingOption(*command,
                   *arguments,
                   "--job-workers",
                   "job_workers",
                   "Background jobs run at once (default 1)");
  AddSettingOption(*command,
                   *arguments,
                   "--image-cache-mb",
                   "image_cache_mb",
                   "Memory for cached vignettes in MiB (default 256)");
  AddSettingOption(*command,
                   *arguments,
                   "--store-connections",
                   "store_connections",
                   "Stores opened for the request threads to share (default 4)");
  command->add_flag_callback(
      "--public-read",
      [arguments] { arguments->flags.emplace_back("public_read", "true"); },
      "Let anyone read (GET endpoints and DEEPaaS predict) without a token");
  command->add_flag_callback(
      "--no-access-log",
      [arguments] { arguments->flags.emplace_back("access_log", "false"); },
      "Do not log one line per request on stderr");
  command->add_option("--config",
                      arguments->config,
                      "JSON config file (default: $PHYTOFLOW_CONFIG); flags and PHYTOFLOW_* "
                      "variables override it");
  command->callback([arguments] { Serve(*arguments); });
}

}  // namespace phytoflow
