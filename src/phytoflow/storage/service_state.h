#pragma once

// The ServiceState interface: what the HTTP service keeps besides the samples (API tokens,
// settings, background jobs and their logs). It lives apart from the Store because it belongs to
// one service installation, not to the data: a SQLite store keeps it beside itself in
// <store>.service.db, a MongoDB store in a file named by --state. The server layer uses it
// (server/accounts.h); the SQLite implementation is storage/sqlite/sqlite_service_state.h.
//
//   std::unique_ptr<ServiceState> state = OpenSqliteServiceState("phytoflow.db.service.db");
//   ApiToken token = state->AddToken("alice", Role::kAnnotator, secret_sha256, now);
//   Job job = state->AddJob({.kind = "export", .params_json = "{...}", .created_by = "alice"},
//   now); std::optional<Job> next = state->ClaimNextJob(now);   // the oldest queued job, now
//   running

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// What a token may do. Each role may do everything the roles before it may.
enum class Role {
  kViewer,     // read samples, particles, products and models
  kAnnotator,  // also edit metadata and labels
  kAdmin,      // also manage the service
};

// "viewer", "annotator", "admin".
inline std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kAnnotator:
      return "annotator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

// The role named `name`, or nullopt.
inline std::optional<Role> ParseRole(std::string_view name) {
  for (const Role role : {Role::kViewer, Role::kAnnotator, Role::kAdmin}) {
    if (RoleName(role) == name) {
      return role;
    }
  }
  return std::nullopt;
}

// An API token as stored: never the secret itself, only its SHA-256.
struct ApiToken {
  int64_t id = 0;    // given by the state, for listing and revocation
  std::string name;  // who or what it is for, e.g. "alice" or "ingest-bot"
  Role role = Role::kViewer;
  std::string secret_sha256;  // 64 lowercase hex digits
  std::string created_at;     // ISO 8601 UTC
  std::string last_used_at;   // ISO 8601 UTC; empty: never used
  std::string revoked_at;     // ISO 8601 UTC; empty: valid

  bool Revoked() const { return !revoked_at.empty(); }
  bool operator==(const ApiToken&) const = default;
};

// Where a background job is. Queued and running jobs are unfinished; the others are final.
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

// "queued", "running", "succeeded", "failed", "cancelled".
inline std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "queued";
}

// The state named `name`, or nullopt.
inline std::optional<JobState> ParseJobState(std::string_view name) {
  for (const JobState state : {JobState::kQueued,
                               JobState::kRunning,
                               JobState::kSucceeded,
                               JobState::kFailed,
                               JobState::kCancelled}) {
    if (JobStateName(state) == name) {
      return state;
    }
  }
  return std::nullopt;
}

// True for succeeded, failed and cancelled.
inline bool JobFinished(JobState state) {
  return state != JobState::kQueued && state != JobState::kRunning;
}

// A background job as stored (docs/api.md, "Jobs"). What its parameters and result mean is the
// server's business: the state keeps them as JSON text.
struct Job {
  int64_t id = 0;    // given by the state, increasing with creation
  std::string kind;  // "ingest", "classify", "export", "train"
  JobState state = JobState::kQueued;
  std::string params_json = "{}";  // what the job was asked to do
  int64_t progress_done = 0;
  int64_t progress_total = 0;  // 0: not known yet
  std::string progress_message;
  std::string result_json;  // empty until the job has a result
  std::string error;        // why it failed; empty otherwise
  int attempts = 0;         // times a worker started it
  bool cancel_requested = false;
  std::string created_by;  // the name of the token that asked for it
  std::string created_at;  // ISO 8601 UTC
  std::string started_at;  // of the latest attempt; empty: never started
  std::string finished_at;
  // A folder of files the job reads (an upload), removed by the server when the job ends;
  // empty: none.
  std::string input_dir;
  // A file the job produced (an export's zip), served by GET /api/v1/jobs/{id}/result; empty:
  // none.
  std::string result_file;

  bool operator==(const Job&) const = default;
};

// Which jobs to list: all by default, newest first.
struct JobFilter {
  std::optional<JobState> state;
  std::string kind;  // empty: every kind
  int64_t limit = 100;
  int64_t offset = 0;
};

struct JobPage {
  std::vector<Job> jobs;  // newest first
  int64_t total = 0;      // matching the filter, before limit and offset
};

// One line of a job's log.
struct JobLogLine {
  std::string at;  // ISO 8601 UTC
  std::string message;
  bool operator==(const JobLogLine&) const = default;
};

// How a job ended, for FinishJob.
struct JobOutcome {
  JobState state = JobState::kSucceeded;  // succeeded, failed or cancelled
  std::string result_json;                // empty: no result
  std::string error;                      // for failed jobs
  std::string result_file;                // empty: none
};

// Thread-safe: the server calls it from every request thread.
class ServiceState {
 public:
  virtual ~ServiceState() = default;

  // Stores a new token and returns it with its id. Throws Error{kConflict} if a token with the
  // same secret_sha256 exists (a repeated secret is a bug in the caller's random source).
  virtual ApiToken AddToken(const std::string& name,
                            Role role,
                            const std::string& secret_sha256,
                            const std::string& created_at) = 0;
  // Every token, revoked ones included, by id.
  virtual std::vector<ApiToken> Tokens() const = 0;
  // The token whose secret has this SHA-256 (revoked or not), or nullopt.
  virtual std::optional<ApiToken> FindToken(const std::string& secret_sha256) const = 0;
  // Marks a token revoked at `revoked_at`. Returns false if there is no token with this id;
  // revoking a revoked token keeps its first revocation time and returns true.
  virtual bool RevokeToken(int64_t id, const std::string& revoked_at) = 0;
  // Records that the token was used at `used_at`.
  virtual void TouchToken(int64_t id, const std::string& used_at) = 0;

  // Small named settings of the installation that must survive a restart, e.g.
  // kActiveModelSetting. The value of `key`, or nullopt when it was never set.
  virtual std::optional<std::string> Setting(const std::string& key) const = 0;
  // Sets (or replaces) a setting.
  virtual void SetSetting(const std::string& key, const std::string& value) = 0;

  // Background jobs. Each change is one statement, so two workers (or processes) never claim
  // the same job and a cancellation never races a claim.

  // Stores a new queued job from `job`'s kind, params_json, created_by and input_dir (the other
  // fields are ignored), created at `created_at`. Returns it with its id.
  virtual Job AddJob(const Job& job, const std::string& created_at) = 0;
  // The job with this id, or nullopt.
  virtual std::optional<Job> FindJob(int64_t id) const = 0;
  // The jobs matching `filter`, newest first.
  virtual JobPage ListJobs(const JobFilter& filter) const = 0;
  // Marks the oldest queued job running (attempts + 1, started_at = `started_at`, progress
  // reset) and returns it; nullopt when none is queued.
  virtual std::optional<Job> ClaimNextJob(const std::string& started_at) = 0;
  // Records a running job's progress; `total` 0 means not known. Ignored for other states.
  virtual void UpdateJobProgress(int64_t id,
                                 int64_t done,
                                 int64_t total,
                                 const std::string& message) = 0;
  // Appends a line to a job's log.
  virtual void AppendJobLog(int64_t id, const std::string& at, const std::string& message) = 0;
  // A job's log, oldest line first (empty for an unknown job).
  virtual std::vector<JobLogLine> JobLog(int64_t id) const = 0;
  // Ends a running job as `outcome` says, at `finished_at`. Returns false (and changes nothing)
  // when the job is not running, e.g. cancelled while queued.
  virtual bool FinishJob(int64_t id, const JobOutcome& outcome, const std::string& finished_at) = 0;
  // Gives a running job back to the queue without counting the attempt (attempts - 1, progress
  // reset): for a job interrupted by a graceful stop, which is no crash. Returns false (and
  // changes nothing) when the job is not running.
  virtual bool RequeueJob(int64_t id) = 0;
  // Cancels a job: a queued one is cancelled at once (finished_at = `at`), a running one gets
  // cancel_requested (its worker stops it at its next progress step), a finished one is left
  // as it is. Returns the job after the change, or nullopt for an unknown id.
  virtual std::optional<Job> RequestJobCancel(int64_t id, const std::string& at) = 0;
  // After a restart, the jobs left running were interrupted: each one tried fewer than
  // `max_attempts` times is queued again (keeping its attempts), the others fail with "interrupted
  // by a restart". Returns the jobs changed, after the change, by id.
  virtual std::vector<Job> RecoverInterruptedJobs(int max_attempts, const std::string& at) = 0;
};

// The setting that holds the id of the model chosen with POST /api/v1/models/{id}/activate.
inline constexpr const char* kActiveModelSetting = "active_model";

}  // namespace phytoflow
