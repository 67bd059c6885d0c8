#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include "phytoflow/core/error.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <string_view>

#include <sqlite3.h>

namespace phytoflow {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// PRAGMA application_id of a service state file ("PFSS"), so that a store, or any other SQLite
// file, named by mistake is refused instead of getting a tokens table.
constexpr int kApplicationId = 0x50465353;

// Schema migrations, applied in order; PRAGMA user_version is the number applied. Never edit
// one that has shipped: append the next.
constexpr std::array<const char*, 3> kMigrations = {
    "CREATE TABLE tokens ("
    "  id            INTEGER PRIMARY KEY AUTOINCREMENT,"  // never reused after a deletion
    "  name          TEXT NOT NULL,"
    "  role          TEXT NOT NULL CHECK (role IN ('viewer', 'annotator', 'admin')),"
    "  secret_sha256 TEXT NOT NULL UNIQUE,"
    "  created_at    TEXT NOT NULL,"
    "  last_used_at  TEXT,"
    "  revoked_at    TEXT"
    ")",
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    // Background jobs (docs/api.md, "Jobs") and their logs. NULL: not set.
    "CREATE TABLE jobs ("
    "  id               INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind             TEXT NOT NULL,"
    "  state            TEXT NOT NULL CHECK (state IN"
    "                     ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
    "  params           TEXT NOT NULL,"  // JSON
    "  progress_done    INTEGER NOT NULL DEFAULT 0,"
    "  progress_total   INTEGER NOT NULL DEFAULT 0,"
    "  progress_message TEXT NOT NULL DEFAULT '',"
    "  result           TEXT,"  // JSON
    "  error            TEXT,"
    "  attempts         INTEGER NOT NULL DEFAULT 0,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,"
    "  created_by       TEXT NOT NULL,"
    "  created_at       TEXT NOT NULL,"
    "  started_at       TEXT,"
    "  finished_at      TEXT,"
    "  input_dir        TEXT,"
    "  result_file      TEXT"
    ");"
    "CREATE INDEX jobs_by_state ON jobs (state, id);"
    "CREATE TABLE job_log ("
    "  id      INTEGER PRIMARY KEY AUTOINCREMENT,"  // the order of the lines
    "  job_id  INTEGER NOT NULL REFERENCES jobs (id),"
    "  at      TEXT NOT NULL,"
    "  message TEXT NOT NULL"
    ");"
    "CREATE INDEX job_log_by_job ON job_log (job_id, id)",
};

ErrorCode ErrorCodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
      return ErrorCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return ErrorCode::kConflict;
    default:
      return ErrorCode::kInternal;
  }
}

// Returns `rc` for OK, ROW and DONE; throws an Error naming the file for anything else.
int CheckSqlite(int rc, sqlite3* db) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) {
    return rc;
  }
  const char* file = sqlite3_db_filename(db, "main");
  throw Error(ErrorCodeFor(rc),
              std::string("service state '") + (file != nullptr ? file : "") +
                  "': " + sqlite3_errmsg(db) + " (" + sqlite3_errstr(rc) + ")");
}

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    CheckSqlite(sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr),
                db);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void BindText(int index, const std::string& text) {
    CheckSqlite(sqlite3_bind_text(
                    stmt_, index, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
                db_);
  }
  void BindInt(int index, int64_t value) {
    CheckSqlite(sqlite3_bind_int64(stmt_, index, value), db_);
  }
  // NULL for an empty text: the column is not set.
  void BindTextOrNull(int index, const std::string& text) {
    if (text.empty()) {
      CheckSqlite(sqlite3_bind_null(stmt_, index), db_);
    } else {
      BindText(index, text);
    }
  }
  bool Step() { return CheckSqlite(sqlite3_step(stmt_), db_) == SQLITE_ROW; }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? std::string()
                           : std::string(reinterpret_cast<const char*>(text),
                                         static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kTokenColumns =
    "SELECT id, name, role, secret_sha256, created_at, last_used_at, revoked_at FROM tokens ";

ApiToken TokenFromRow(const Statement& row) {
  const std::string role = row.Text(2);
  const std::optional<Role> parsed = ParseRole(role);
  if (!parsed) {
    throw Error(ErrorCode::kInternal, "service state: token with unknown role '" + role + "'");
  }
  return ApiToken{.id = row.Int(0),
                  .name = row.Text(1),
                  .role = *parsed,
                  .secret_sha256 = row.Text(3),
                  .created_at = row.Text(4),
                  .last_used_at = row.Text(5),
                  .revoked_at = row.Text(6)};
}

constexpr const char* kJobColumns =
    "id, kind, state, params, progress_done, progress_total, progress_message, result, error, "
    "attempts, cancel_requested, created_by, created_at, started_at, finished_at, input_dir, "
    "result_file";

Job JobFromRow(const Statement& row) {
  const std::string state = row.Text(2);
  const std::optional<JobState> parsed = ParseJobState(state);
  if (!parsed) {
    throw Error(ErrorCode::kInternal, "service state: job with unknown state '" + state + "'");
  }
  return Job{.id = row.Int(0),
             .kind = row.Text(1),
             .state = *parsed,
             .params_json = row.Text(3),
             .progress_done = row.Int(4),
             .progress_total = row.Int(5),
             .progress_message = row.Text(6),
             .result_json = row.Text(7),
             .error = row.Text(8),
             .attempts = static_cast<int>(row.Int(9)),
             .cancel_requested = row.Int(10) != 0,
             .created_by = row.Text(11),
             .created_at = row.Text(12),
             .started_at = row.Text(13),
             .finished_at = row.Text(14),
             .input_dir = row.Text(15),
             .result_file = row.Text(16)};
}

class SqliteServiceState final : public ServiceState {
 public:
  explicit SqliteServiceState(const std::string& path) {
    const int rc =
        sqlite3_open_v2(path.c_str(),
                        &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = "cannot open service state '" + path + "': " +
                                  (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close_v2(db_);
      throw Error(ErrorCodeFor(rc), message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    try {
      Migrate(path);
    } catch (...) {
      sqlite3_close_v2(db_);
      throw;
    }
  }
  ~SqliteServiceState() override { sqlite3_close_v2(db_); }
  SqliteServiceState(const SqliteServiceState&) = delete;
  SqliteServiceState& operator=(const SqliteServiceState&) = delete;

  ApiToken AddToken(const std::string& name,
                    Role role,
                    const std::string& secret_sha256,
                    const std::string& created_at) override {
    std::lock_guard lock(mutex_);
    Statement insert(db_,
                     "INSERT INTO tokens (name, role, secret_sha256, created_at) "
                     "VALUES (?1, ?2, ?3, ?4)");
    insert.BindText(1, name);
    insert.BindText(2, std::string(RoleName(role)));
    insert.BindText(3, secret_sha256);
    insert.BindText(4, created_at);
    insert.Step();
    return ApiToken{.id = sqlite3_last_insert_rowid(db_),
                    .name = name,
                    .role = role,
                    .secret_sha256 = secret_sha256,
                    .created_at = created_at};
  }

  std::vector<ApiToken> Tokens() const override {
    std::lock_guard lock(mutex_);
    Statement select(db_, std::string(kTokenColumns) + "ORDER BY id");
    std::vector<ApiToken> tokens;
    while (select.Step()) {
      tokens.push_back(TokenFromRow(select));
    }
    return tokens;
  }

  std::optional<ApiToken> FindToken(const std::string& secret_sha256) const override {
    std::lock_guard lock(mutex_);
    Statement select(db_, std::string(kTokenColumns) + "WHERE secret_sha256 = ?1");
    select.BindText(1, secret_sha256);
    if (!select.Step()) {
      return std::nullopt;
    }
    return TokenFromRow(select);
  }

  bool RevokeToken(int64_t id, const std::string& revoked_at) override {
    std::lock_guard lock(mutex_);
    Statement update(db_, "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1");
    update.BindInt(1, id);
    update.BindText(2, revoked_at);
    update.Step();
    return sqlite3_changes(db_) > 0;
  }

  void TouchToken(int64_t id, const std::string& used_at) override {
    std::lock_guard lock(mutex_);
    Statement update(db_, "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1");
    update.BindInt(1, id);
    update.BindText(2, used_at);
    update.Step();
  }

  std::optional<std::string> Setting(const std::string& key) const override {
    std::lock_guard lock(mutex_);
    Statement select(db_, "SELECT value FROM settings WHERE key = ?1");
    select.BindText(1, key);
    if (!select.Step()) {
      return std::nullopt;
    }
    return select.Text(0);
  }

  void SetSetting(const std::string& key, const std::string& value) override {
    std::lock_guard lock(mutex_);
    Statement upsert(db_,
                     "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    upsert.BindText(1, key);
    upsert.BindText(2, value);
    upsert.Step();
  }

  Job AddJob(const Job& job, const std::string& created_at) override {
    std::lock_guard lock(mutex_);
    Statement insert(db_,
                     std::string("INSERT INTO jobs (kind, state, params, created_by, created_at, "
                                 "input_dir) VALUES (?1, 'queued', ?2, ?3, ?4, ?5) RETURNING ") +
                         kJobColumns);
    insert.BindText(1, job.kind);
    insert.BindText(2, job.params_json);
    insert.BindText(3, job.created_by);
    insert.BindText(4, created_at);
    insert.BindTextOrNull(5, job.input_dir);
    insert.Step();
    Job added = JobFromRow(insert);
    insert.Step();  // RETURNING: the insert is complete only after the last row
    return added;
  }

  std::optional<Job> FindJob(int64_t id) const override {
    std::lock_guard lock(mutex_);
    Statement select(db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?1");
    select.BindInt(1, id);
    if (!select.Step()) {
      return std::nullopt;
    }
    return JobFromRow(select);
  }

  JobPage ListJobs(const JobFilter& filter) const override {
    std::lock_guard lock(mutex_);
    const std::string where = " FROM jobs WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR kind = ?2)";
    const std::string state = filter.state ? std::string(JobStateName(*filter.state)) : "";
    JobPage page;
    Statement count(db_, "SELECT count(*)" + where);
    count.BindText(1, state);
    count.BindText(2, filter.kind);
    count.Step();
    page.total = count.Int(0);
    Statement select(
        db_, std::string("SELECT ") + kJobColumns + where + " ORDER BY id DESC LIMIT ?3 OFFSET ?4");
    select.BindText(1, state);
    select.BindText(2, filter.kind);
    select.BindInt(3, filter.limit);
    select.BindInt(4, filter.offset);
    while (select.Step()) {
      page.jobs.push_back(JobFromRow(select));
    }
    return page;
  }

  std::optional<Job> ClaimNextJob(const std::string& started_at) override {
    std::lock_guard lock(mutex_);
    Statement claim(db_,
                    std::string("UPDATE jobs SET state = 'running', attempts = attempts + 1, "
                                "started_at = ?1, progress_done = 0, progress_total = 0, "
                                "progress_message = '' WHERE id = (SELECT id FROM jobs WHERE "
                                "state = 'queued' ORDER BY id LIMIT 1) RETURNING ") +
                        kJobColumns);
    claim.BindText(1, started_at);
    if (!claim.Step()) {
      return std::nullopt;
    }
    Job claimed = JobFromRow(claim);
    claim.Step();
    return claimed;
  }

  void UpdateJobProgress(int64_t id,
                         int64_t done,
                         int64_t total,
                         const std::string& message) override {
    std::lock_guard lock(mutex_);
    Statement update(db_,
                     "UPDATE jobs SET progress_done = ?2, progress_total = ?3, "
                     "progress_message = ?4 WHERE id = ?1 AND state = 'running'");
    update.BindInt(1, id);
    update.BindInt(2, done);
    update.BindInt(3, total);
    update.BindText(4, message);
    update.Step();
  }

  void AppendJobLog(int64_t id, const std::string& at, const std::string& message) override {
    std::lock_guard lock(mutex_);
    Statement insert(db_, "INSERT INTO job_log (job_id, at, message) VALUES (?1, ?2, ?3)");
    insert.BindInt(1, id);
    insert.BindText(2, at);
    insert.BindText(3, message);
    insert.Step();
  }

  std::vector<JobLogLine> JobLog(int64_t id) const override {
    std::lock_guard lock(mutex_);
    Statement select(db_, "SELECT at, message FROM job_log WHERE job_id = ?1 ORDER BY id");
    select.BindInt(1, id);
    std::vector<JobLogLine> lines;
    while (select.Step()) {
      lines.push_back(JobLogLine{.at = select.Text(0), .message = select.Text(1)});
    }
    return lines;
  }

  bool FinishJob(int64_t id, const JobOutcome& outcome, const std::string& finished_at) override {
    std::lock_guard lock(mutex_);
    Statement update(db_,
                     "UPDATE jobs SET state = ?2, result = ?3, error = ?4, result_file = ?5, "
                     "finished_at = ?6 WHERE id = ?1 AND state = 'running'");
    update.BindInt(1, id);
    update.BindText(2, std::string(JobStateName(outcome.state)));
    update.BindTextOrNull(3, outcome.result_json);
    update.BindTextOrNull(4, outcome.error);
    update.BindTextOrNull(5, outcome.result_file);
    update.BindText(6, finished_at);
    update.Step();
    return sqlite3_changes(db_) > 0;
  }

  bool RequeueJob(int64_t id) override {
    std::lock_guard lock(mutex_);
    Statement update(db_,
                     "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), "
                     "progress_done = 0, progress_total = 0, progress_message = '' "
                     "WHERE id = ?1 AND state = 'running'");
    update.BindInt(1, id);
    update.Step();
    return sqlite3_changes(db_) > 0;
  }

  std::optional<Job> RequestJobCancel(int64_t id, const std::string& at) override {
    std::lock_guard lock(mutex_);
    // One statement: a queued job is cancelled, a running one flagged, whatever a worker does
    // at the same moment.
    Statement update(db_,
                     "UPDATE jobs SET "
                     "state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END, "
                     "finished_at = CASE state WHEN 'queued' THEN ?2 ELSE finished_at END, "
                     "cancel_requested = CASE state WHEN 'running' THEN 1 "
                     "ELSE cancel_requested END WHERE id = ?1");
    update.BindInt(1, id);
    update.BindText(2, at);
    update.Step();
    Statement select(db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?1");
    select.BindInt(1, id);
    if (!select.Step()) {
      return std::nullopt;
    }
    return JobFromRow(select);
  }

  std::vector<Job> RecoverInterruptedJobs(int max_attempts, const std::string& at) override {
    std::lock_guard lock(mutex_);
    Execute("BEGIN IMMEDIATE");
    try {
      std::vector<Job> changed;
      // ?1 is the time; the statements run in this order, each on what the one before left.
      const auto apply = [&](const std::string& sql, std::optional<int64_t> attempts) {
        Statement update(db_, sql + " RETURNING " + kJobColumns);
        update.BindText(1, at);
        if (attempts) {
          update.BindInt(2, *attempts);
        }
        while (update.Step()) {
          changed.push_back(JobFromRow(update));
        }
      };
      // A job whose cancellation was asked for stays cancelled rather than running again.
      apply(
          "UPDATE jobs SET state = 'cancelled', finished_at = ?1 WHERE state = 'running' AND "
          "cancel_requested = 1",
          std::nullopt);
      apply(
          "UPDATE jobs SET state = 'queued', progress_done = 0, progress_total = 0, "
          "progress_message = 'interrupted by a restart at ' || ?1 || ', queued again' "
          "WHERE state = 'running' AND attempts < ?2",
          max_attempts);
      apply(
          "UPDATE jobs SET state = 'failed', error = 'interrupted by a restart', "
          "finished_at = ?1 WHERE state = 'running'",
          std::nullopt);
      Execute("COMMIT");
      std::sort(
          changed.begin(), changed.end(), [](const Job& a, const Job& b) { return a.id < b.id; });
      return changed;
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

 private:
  void Execute(const std::string& sql) {
    CheckSqlite(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), db_);
  }

  int64_t Pragma(const char* name) {
    Statement select(db_, std::string("PRAGMA ") + name);
    select.Step();
    return select.Int(0);
  }

  // Applies the missing migrations in one IMMEDIATE transaction, so two processes opening a new
  // file at once cannot both create the tables.
  void Migrate(const std::string& path) {
    Execute("PRAGMA journal_mode = WAL");
    Execute("BEGIN IMMEDIATE");
    try {
      const int64_t application_id = Pragma("application_id");
      const int64_t version = Pragma("user_version");
      Statement tables(db_, "SELECT count(*) FROM sqlite_master");
      tables.Step();
      const bool empty = tables.Int(0) == 0;
      if (application_id != kApplicationId && !empty) {
        throw Error(ErrorCode::kInvalidInput,
                    path +
                        ": not a phytoflow service state file (is it the store itself? use "
                        "--state FILE for another file)");
      }
      if (version > static_cast<int64_t>(kMigrations.size())) {
        throw Error(ErrorCode::kUnavailable,
                    path + ": service state schema version " + std::to_string(version) +
                        " was written by a newer phytoflow (this one knows " +
                        std::to_string(kMigrations.size()) + ")");
      }
      for (size_t index = static_cast<size_t>(version); index < kMigrations.size(); ++index) {
        Execute(kMigrations[index]);
      }
      Execute("PRAGMA application_id = " + std::to_string(kApplicationId));
      Execute("PRAGMA user_version = " + std::to_string(kMigrations.size()));
      Execute("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  sqlite3* db_ = nullptr;
  mutable std::mutex mutex_;  // FULLMUTEX guards the handle; this keeps a statement's steps
                              // and sqlite3_changes() of one call together
};

}  // namespace

std::unique_ptr<ServiceState> OpenSqliteServiceState(const std::filesystem::path& path) {
  return std::make_unique<SqliteServiceState>(path.string());
}

}  // namespace phytoflow
