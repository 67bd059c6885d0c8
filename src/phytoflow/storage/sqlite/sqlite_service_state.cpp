#include "phytoflow/storage/sqlite/sqlite_service_state.h"

#include "phytoflow/core/error.h"

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
constexpr std::array<const char*, 2> kMigrations = {
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
