#include "phytoflow/storage/sqlite/sqlite_store.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"
#include "phytoflow/storage/sqlite/embedded_migrations.h"
#include "phytoflow/storage/store_checks.h"

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

namespace phytoflow {
namespace {

using Json = nlohmann::json;

constexpr int kBusyTimeoutMs = 5000;
constexpr size_t kMaxSqlInMessage = 200;
constexpr const char* kMemoryPath = ":memory:";

// ---------------------------------------------------------------------------------------------
// Errors

ErrorCode ErrorCodeFor(int rc) {
  switch (rc & 0xff) {  // primary code; extended codes keep it in the low byte
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return ErrorCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return ErrorCode::kConflict;
    default:
      return ErrorCode::kInternal;
  }
}

// The one place where a sqlite3 result becomes an Error. Returns `rc` for OK, ROW and DONE so
// calls read `CheckSqlite(sqlite3_step(s), db, sql) == SQLITE_ROW`.
int CheckSqlite(int rc, sqlite3* db, std::string_view sql) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) {
    return rc;
  }
  std::string message = "SQLite store";
  const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  if (file != nullptr && *file != '\0') {
    message += " '";
    message += file;
    message += "'";
  }
  message += ": ";
  // errmsg describes the last failed call on this connection, which is this one.
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (";
  message += sqlite3_errstr(rc);
  message += ")";
  if (!sql.empty()) {
    message += " in: ";
    message += sql.substr(0, kMaxSqlInMessage);
    if (sql.size() > kMaxSqlInMessage) {
      message += "...";
    }
  }
  throw Error(ErrorCodeFor(rc), message);
}

// ---------------------------------------------------------------------------------------------
// RAII wrappers

class Connection {
 public:
  explicit Connection(const std::string& path) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                      SQLITE_OPEN_NOMUTEX;  // we serialise per connection ourselves
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      // The handle exists even on failure (for errmsg) and must still be closed.
      std::string message = "cannot open SQLite store '" + path +
                            "': " + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close_v2(db_);
      throw Error(ErrorCodeFor(rc), message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);  // cannot fail on an open handle
  }
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* Get() const { return db_; }

  // Runs one or more statements that return no rows we need.
  void Execute(std::string_view sql, std::string_view what = {}) {
    const std::string text(sql);
    CheckSqlite(
        sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr), db_, what.empty() ? sql : what);
  }

  // For destructors and error paths: the original error matters more than this one.
  void ExecuteNoThrow(const char* sql) noexcept {
    sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql, bool persistent = false) : db_(db) {
    const char* tail = nullptr;
    CheckSqlite(sqlite3_prepare_v3(db,
                                   sql.data(),
                                   static_cast<int>(sql.size()),
                                   persistent ? SQLITE_PREPARE_PERSISTENT : 0,
                                   &stmt_,
                                   &tail),
                db,
                sql);
    // One statement per object; a second one would be silently ignored.
    assert(tail == sql.data() + sql.size());
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Index of a named parameter (":name"); a typo is a bug, so it throws.
  int Param(const char* name) const {
    const int index = sqlite3_bind_parameter_index(stmt_, name);
    if (index == 0) {
      throw Error(ErrorCode::kInternal,
                  std::string("SQLite store: no parameter ") + name + " in: " + std::string(Sql()));
    }
    return index;
  }

  void BindNull(int index) { Bound(sqlite3_bind_null(stmt_, index)); }
  void BindInt(int index, int64_t value) { Bound(sqlite3_bind_int64(stmt_, index, value)); }
  // NaN is stored as NULL, the SQL way of saying "missing".
  void BindReal(int index, double value) {
    if (std::isnan(value)) {
      BindNull(index);
    } else {
      Bound(sqlite3_bind_double(stmt_, index, value));
    }
  }
  void BindOptionalReal(int index, std::optional<double> value) {
    if (value) {
      BindReal(index, *value);
    } else {
      BindNull(index);
    }
  }
  void BindOptionalInt(int index, std::optional<int64_t> value) {
    if (value) {
      BindInt(index, *value);
    } else {
      BindNull(index);
    }
  }
  void BindText(int index, std::string_view text) {
    // A null data pointer would bind NULL; an empty view must stay an empty string.
    const char* data = text.data() != nullptr ? text.data() : "";
    Bound(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void BindTextOrNull(int index, std::string_view text) {
    if (text.empty()) {
      BindNull(index);
    } else {
      BindText(index, text);
    }
  }
  // An empty span is a zero-length blob, not NULL.
  void BindBlob(int index, std::span<const uint8_t> bytes) {
    if (bytes.empty()) {
      Bound(sqlite3_bind_zeroblob(stmt_, index, 0));
    } else {
      Bound(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
    }
  }
  void BindBlobOrNull(int index, std::span<const uint8_t> bytes) {
    if (bytes.empty()) {
      BindNull(index);
    } else {
      BindBlob(index, bytes);
    }
  }

  // Advances to the next row; false when there is none.
  bool Step() { return CheckSqlite(sqlite3_step(stmt_), db_, Sql()) == SQLITE_ROW; }

  // Runs a statement that returns no rows and makes it ready for the next bindings. Resetting
  // at once also ends its implicit read, so a reused statement never pins an old snapshot.
  void Run() {
    const int rc = sqlite3_step(stmt_);
    try {
      CheckSqlite(rc, db_, Sql());  // before Reset(), which may change the error message
    } catch (...) {
      Reset();
      throw;
    }
    Reset();
  }

  void Reset() noexcept {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double Real(int column) const {
    return IsNull(column) ? kMissing : sqlite3_column_double(stmt_, column);
  }
  std::optional<double> OptionalReal(int column) const {
    if (IsNull(column)) {
      return std::nullopt;
    }
    return sqlite3_column_double(stmt_, column);
  }
  std::optional<int64_t> OptionalInt(int column) const {
    if (IsNull(column)) {
      return std::nullopt;
    }
    return sqlite3_column_int64(stmt_, column);
  }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) {
      return {};
    }
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::vector<uint8_t> Blob(int column) const {
    const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
    if (data == nullptr) {
      return {};
    }
    return std::vector<uint8_t>(data, data + sqlite3_column_bytes(stmt_, column));
  }

 private:
  std::string_view Sql() const {
    const char* sql = sqlite3_sql(stmt_);
    return sql != nullptr ? std::string_view(sql) : std::string_view();
  }
  void Bound(int rc) { CheckSqlite(rc, db_, Sql()); }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// A connection and the lock that serialises its use. Recursive, so that a ScanParticles callback
// may read the same store again on the same thread.
struct Db {
  explicit Db(const std::string& path) : connection(path) {}
  Connection connection;
  std::recursive_mutex mutex;
};

// Makes several SELECTs of one call see the same committed state. A savepoint, unlike BEGIN,
// also nests inside an open writer's transaction (an in-memory store has one connection).
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Connection& connection) : connection_(connection) {
    connection_.Execute("SAVEPOINT read_snapshot");
  }
  ~ReadSnapshot() { connection_.ExecuteNoThrow("RELEASE read_snapshot"); }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Connection& connection_;
};

// ---------------------------------------------------------------------------------------------
// JSON columns (nlohmann stays in this file)

// Turns a JSON library exception into an Error that names what was being converted.
template <typename Function>
auto WithJsonErrors(ErrorCode code, std::string_view what, Function function) {
  try {
    return function();
  } catch (const Json::exception& error) {
    throw Error(code, std::string(what) + ": " + error.what());
  }
}

// Writing fails only for text that is not UTF-8, which the caller must fix.
std::string StringsToJson(const std::vector<std::string>& strings, std::string_view what) {
  return WithJsonErrors(ErrorCode::kInvalidInput, what, [&] { return Json(strings).dump(); });
}

std::vector<std::string> StringsFromJson(const std::string& text, std::string_view what) {
  if (text.empty()) {
    return {};
  }
  return WithJsonErrors(ErrorCode::kInternal, what, [&] {
    return Json::parse(text).get<std::vector<std::string>>();
  });
}

// [[section, key, value], ...]: an array keeps file order and duplicate keys.
std::string ContextToJson(const std::vector<ContextEntry>& entries, std::string_view what) {
  return WithJsonErrors(ErrorCode::kInvalidInput, what, [&] {
    Json array = Json::array();
    for (const ContextEntry& entry : entries) {
      array.push_back(Json::array({entry.section, entry.key, entry.value}));
    }
    return array.dump();
  });
}

std::vector<ContextEntry> ContextFromJson(const std::string& text, std::string_view what) {
  if (text.empty()) {
    return {};
  }
  return WithJsonErrors(ErrorCode::kInternal, what, [&] {
    std::vector<ContextEntry> entries;
    const Json parsed = Json::parse(text);
    for (const Json& item : parsed) {
      if (!item.is_array() || item.size() != 3) {
        throw Error(ErrorCode::kInternal,
                    std::string(what) + ": expected [section, key, value], found " + item.dump());
      }
      entries.push_back(ContextEntry{.section = item[0].get<std::string>(),
                                     .key = item[1].get<std::string>(),
                                     .value = item[2].get<std::string>()});
    }
    return entries;
  });
}

// A prediction's top-k as [[name, probability], ...]; NULL (empty string here) when empty.
std::string TopKToJson(const std::vector<LabelScore>& top_k, std::string_view what) {
  if (top_k.empty()) {
    return "";
  }
  return WithJsonErrors(ErrorCode::kInvalidInput, what, [&] {
    Json array = Json::array();
    for (const LabelScore& score : top_k) {
      array.push_back(Json::array({score.name, score.probability}));
    }
    return array.dump();
  });
}

std::vector<LabelScore> TopKFromJson(const std::string& text, std::string_view what) {
  if (text.empty()) {
    return {};
  }
  return WithJsonErrors(ErrorCode::kInternal, what, [&] {
    std::vector<LabelScore> top_k;
    for (const Json& pair : Json::parse(text)) {
      top_k.push_back(LabelScore{.name = pair.at(0).get<std::string>(),
                                 .probability = pair.at(1).get<double>()});
    }
    return top_k;
  });
}

// Measurements are written by hand (keys encoded once per sample, numbers with to_chars): this
// runs for every particle. JSON has no NaN or infinity: NaN is null, ±∞ are strings.
void AppendJsonNumber(double value, std::string& out) {
  if (std::isnan(value)) {
    out += "null";
  } else if (std::isinf(value)) {
    out += value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    std::array<char, 32> buffer{};
    // Shortest text that reads back as the same double.
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out.append(buffer.data(), result.ptr);
  }
}

double JsonToMeasurement(const Json& value) {
  if (value.is_null()) {
    return kMissing;
  }
  if (value.is_number()) {
    return value.get<double>();
  }
  const auto& text = value.get_ref<const std::string&>();
  if (text == "Infinity") {
    return std::numeric_limits<double>::infinity();
  }
  if (text == "-Infinity") {
    return -std::numeric_limits<double>::infinity();
  }
  throw Error(ErrorCode::kInternal, "expected a number, null or ±Infinity, found " + value.dump());
}

// ---------------------------------------------------------------------------------------------
// Particle columns

std::string EncodeOutlines(const std::vector<ChainCode>& outlines, int64_t number) {
  std::string text;
  for (const ChainCode& chain : outlines) {
    if (chain.directions.find('\n') != std::string::npos) {
      throw Error(ErrorCode::kInvalidInput,
                  "particle " + std::to_string(number) + ": outline directions contain a newline");
    }
    if (!text.empty()) {
      text += '\n';
    }
    text += std::to_string(chain.start_x);
    text += ',';
    text += std::to_string(chain.start_y);
    text += ',';
    text += chain.directions;
  }
  return text;
}

std::vector<ChainCode> DecodeOutlines(std::string_view text, int64_t number) {
  std::vector<ChainCode> outlines;
  if (text.empty()) {
    return outlines;
  }
  auto malformed = [&](std::string_view line) {
    return Error(ErrorCode::kInternal,
                 "particle " + std::to_string(number) +
                     ": expected an outline 'x,y,directions', "
                     "found '" +
                     std::string(line) + "'");
  };
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) {
      line_end = text.size();
    }
    const std::string_view line = text.substr(line_start, line_end - line_start);
    ChainCode chain;
    const char* end = line.data() + line.size();
    auto [after_x, x_error] = std::from_chars(line.data(), end, chain.start_x);
    if (x_error != std::errc() || after_x == end || *after_x != ',') {
      throw malformed(line);
    }
    auto [after_y, y_error] = std::from_chars(after_x + 1, end, chain.start_y);
    if (y_error != std::errc() || after_y == end || *after_y != ',') {
      throw malformed(line);
    }
    chain.directions.assign(after_y + 1, end);
    outlines.push_back(std::move(chain));
    line_start = line_end + 1;
  }
  return outlines;
}

// ---------------------------------------------------------------------------------------------
// Sample rows

// Every column of `samples`, in SELECT order. Insert and update are built from this list and
// bound by name, so a column cannot be forgotten in one of them.
constexpr std::array<std::string_view, 32> kSampleColumns = {
    "id",
    "run_name",
    "fingerprint",
    "source_path",
    "software",
    "software_version",
    "instrument_serial",
    "camera",
    "magnification",
    "calibration_um_per_px",
    "flow_cell",
    "flow_cell_depth_um",
    "flow_rate_ml_per_min",
    "run_start_utc",
    "run_end_utc",
    "run_start_local",
    "frames_total",
    "frames_used",
    "volume_imaged_ml",
    "volume_source",
    "volume_processed_ml",
    "dilution_factor",
    "particle_count",
    "particles_per_ml",
    "measurement_names",
    "context",
    "summary",
    "notes",
    "classifications",
    "warnings",
    "ingested_at",
    "phytoflow_version",
};

// Column index of `name` in kSampleColumns; an unknown name does not compile.
consteval int Col(std::string_view name) {
  for (size_t index = 0; index < kSampleColumns.size(); ++index) {
    if (kSampleColumns[index] == name) {
      return static_cast<int>(index);
    }
  }
  throw "unknown samples column";
}

// Columns that ListSamples leaves out (the interface promises neither context nor files).
bool IsDetailColumn(std::string_view name) {
  return name == "context" || name == "summary" || name == "notes";
}

std::string SelectSampleSql(bool details, std::string_view where) {
  std::string sql = "SELECT ";
  for (size_t index = 0; index < kSampleColumns.size(); ++index) {
    if (index > 0) {
      sql += ", ";
    }
    sql += !details && IsDetailColumn(kSampleColumns[index]) ? "NULL"
                                                             : std::string(kSampleColumns[index]);
  }
  sql += " FROM samples ";
  sql += where;
  return sql;
}

std::string InsertSampleSql() {
  std::string columns;
  std::string values;
  for (std::string_view column : kSampleColumns) {
    if (!columns.empty()) {
      columns += ", ";
      values += ", ";
    }
    columns += column;
    values += ':';
    values += column;
  }
  return "INSERT INTO samples (" + columns + ") VALUES (" + values + ")";
}

std::string UpdateSampleSql() {
  std::string sql = "UPDATE samples SET ";
  bool first = true;
  for (std::string_view column : kSampleColumns) {
    if (column == "id") {
      continue;
    }
    if (!first) {
      sql += ", ";
    }
    first = false;
    sql += std::string(column) + " = :" + std::string(column);
  }
  return sql + " WHERE id = :id";
}

void BindSample(Statement& statement, const Sample& sample) {
  const std::string what = "sample '" + sample.id + "'";
  statement.BindText(statement.Param(":id"), sample.id);
  statement.BindText(statement.Param(":run_name"), sample.run_name);
  statement.BindText(statement.Param(":fingerprint"), sample.fingerprint);
  statement.BindText(statement.Param(":source_path"), sample.source_path);
  statement.BindText(statement.Param(":software"), sample.software);
  statement.BindText(statement.Param(":software_version"), sample.software_version);
  statement.BindText(statement.Param(":instrument_serial"), sample.instrument_serial);
  statement.BindText(statement.Param(":camera"), sample.camera);
  statement.BindOptionalReal(statement.Param(":magnification"), sample.magnification);
  statement.BindOptionalReal(statement.Param(":calibration_um_per_px"),
                             sample.calibration_um_per_px);
  statement.BindText(statement.Param(":flow_cell"), sample.flow_cell);
  statement.BindOptionalReal(statement.Param(":flow_cell_depth_um"), sample.flow_cell_depth_um);
  statement.BindOptionalReal(statement.Param(":flow_rate_ml_per_min"), sample.flow_rate_ml_per_min);
  statement.BindText(statement.Param(":run_start_utc"), sample.run_start_utc);
  statement.BindText(statement.Param(":run_end_utc"), sample.run_end_utc);
  statement.BindText(statement.Param(":run_start_local"), sample.run_start_local);
  statement.BindOptionalInt(statement.Param(":frames_total"), sample.frames_total);
  statement.BindOptionalInt(statement.Param(":frames_used"), sample.frames_used);
  statement.BindOptionalReal(statement.Param(":volume_imaged_ml"), sample.volume_imaged_ml);
  statement.BindText(statement.Param(":volume_source"), VolumeSourceName(sample.volume_source));
  statement.BindOptionalReal(statement.Param(":volume_processed_ml"), sample.volume_processed_ml);
  statement.BindReal(statement.Param(":dilution_factor"), sample.dilution_factor);
  statement.BindInt(statement.Param(":particle_count"), sample.particle_count);
  statement.BindOptionalReal(statement.Param(":particles_per_ml"), sample.particles_per_ml);
  statement.BindText(statement.Param(":measurement_names"),
                     StringsToJson(sample.measurement_names, what + " measurement_names"));
  statement.BindText(statement.Param(":context"), ContextToJson(sample.context, what + " context"));
  statement.BindText(statement.Param(":summary"), ContextToJson(sample.summary, what + " summary"));
  statement.BindText(statement.Param(":notes"), sample.notes);
  statement.BindText(statement.Param(":classifications"),
                     StringsToJson(sample.classifications, what + " classifications"));
  statement.BindText(statement.Param(":warnings"),
                     StringsToJson(sample.warnings, what + " warnings"));
  statement.BindText(statement.Param(":ingested_at"), sample.ingested_at);
  statement.BindText(statement.Param(":phytoflow_version"), sample.phytoflow_version);
}

Sample ReadSample(const Statement& row) {
  Sample sample;
  sample.id = row.Text(Col("id"));
  const std::string what = "stored sample '" + sample.id + "'";
  sample.run_name = row.Text(Col("run_name"));
  sample.fingerprint = row.Text(Col("fingerprint"));
  sample.source_path = row.Text(Col("source_path"));
  sample.software = row.Text(Col("software"));
  sample.software_version = row.Text(Col("software_version"));
  sample.instrument_serial = row.Text(Col("instrument_serial"));
  sample.camera = row.Text(Col("camera"));
  sample.magnification = row.OptionalReal(Col("magnification"));
  sample.calibration_um_per_px = row.OptionalReal(Col("calibration_um_per_px"));
  sample.flow_cell = row.Text(Col("flow_cell"));
  sample.flow_cell_depth_um = row.OptionalReal(Col("flow_cell_depth_um"));
  sample.flow_rate_ml_per_min = row.OptionalReal(Col("flow_rate_ml_per_min"));
  sample.run_start_utc = row.Text(Col("run_start_utc"));
  sample.run_end_utc = row.Text(Col("run_end_utc"));
  sample.run_start_local = row.Text(Col("run_start_local"));
  sample.frames_total = row.OptionalInt(Col("frames_total"));
  sample.frames_used = row.OptionalInt(Col("frames_used"));
  sample.volume_imaged_ml = row.OptionalReal(Col("volume_imaged_ml"));
  const std::string volume_source = row.Text(Col("volume_source"));
  const std::optional<VolumeSource> parsed_source = ParseVolumeSource(volume_source);
  if (!parsed_source) {
    throw Error(ErrorCode::kInternal, what + ": unknown volume_source '" + volume_source + "'");
  }
  sample.volume_source = *parsed_source;
  sample.volume_processed_ml = row.OptionalReal(Col("volume_processed_ml"));
  sample.dilution_factor = row.Real(Col("dilution_factor"));
  sample.particle_count = row.Int(Col("particle_count"));
  sample.particles_per_ml = row.OptionalReal(Col("particles_per_ml"));
  sample.measurement_names =
      StringsFromJson(row.Text(Col("measurement_names")), what + " measurement_names");
  sample.context = ContextFromJson(row.Text(Col("context")), what + " context");
  sample.summary = ContextFromJson(row.Text(Col("summary")), what + " summary");
  sample.notes = row.Text(Col("notes"));
  sample.classifications =
      StringsFromJson(row.Text(Col("classifications")), what + " classifications");
  sample.warnings = StringsFromJson(row.Text(Col("warnings")), what + " warnings");
  sample.ingested_at = row.Text(Col("ingested_at"));
  sample.phytoflow_version = row.Text(Col("phytoflow_version"));
  return sample;
}

void InsertFiles(Connection& connection, const Sample& sample) {
  Statement insert(connection.Get(),
                   "INSERT INTO sample_files (sample_id, position, name, kind, media_type, bytes) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  for (size_t position = 0; position < sample.files.size(); ++position) {
    const SampleFile& file = sample.files[position];
    insert.BindText(1, sample.id);
    insert.BindInt(2, static_cast<int64_t>(position));
    insert.BindText(3, file.name);
    insert.BindText(4, file.kind);
    insert.BindText(5, file.media_type);
    insert.BindBlob(6, file.bytes);
    insert.Run();
  }
}

std::vector<SampleFile> ReadFiles(Connection& connection, const std::string& sample_id) {
  Statement select(connection.Get(),
                   "SELECT name, kind, media_type, bytes FROM sample_files "
                   "WHERE sample_id = ?1 ORDER BY position");
  select.BindText(1, sample_id);
  std::vector<SampleFile> files;
  while (select.Step()) {
    files.push_back(SampleFile{.name = select.Text(0),
                               .kind = select.Text(1),
                               .media_type = select.Text(2),
                               .bytes = select.Blob(3)});
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Sample metadata: a typed row in sample_metadata, free values in sample_environment

struct MetadataColumn {
  std::string_view name;
  std::string SampleMetadata::* text = nullptr;              // TEXT, NULL when empty
  std::optional<double> SampleMetadata::* number = nullptr;  // REAL, NULL when unset
};

// Every column of sample_metadata after sample_id, in SELECT order; the SQL is built from it.
constexpr std::array<MetadataColumn, 15> kMetadataColumns = {{
    {.name = "station", .text = &SampleMetadata::station},
    {.name = "campaign", .text = &SampleMetadata::campaign},
    {.name = "latitude", .number = &SampleMetadata::latitude},
    {.name = "longitude", .number = &SampleMetadata::longitude},
    {.name = "sampled_at", .text = &SampleMetadata::sampled_at},
    {.name = "depth_min_m", .number = &SampleMetadata::depth_min_m},
    {.name = "depth_max_m", .number = &SampleMetadata::depth_max_m},
    {.name = "sampling_protocol", .text = &SampleMetadata::sampling_protocol},
    {.name = "gear", .text = &SampleMetadata::gear},
    {.name = "water_body", .text = &SampleMetadata::water_body},
    {.name = "country_code", .text = &SampleMetadata::country_code},
    {.name = "dilution_factor", .number = &SampleMetadata::dilution_factor},
    {.name = "concentration_factor", .number = &SampleMetadata::concentration_factor},
    {.name = "temperature_c", .number = &SampleMetadata::temperature_c},
    {.name = "salinity", .number = &SampleMetadata::salinity},
}};

std::string MetadataColumnList() {
  std::string columns = "sample_id";
  for (const MetadataColumn& column : kMetadataColumns) {
    columns += ", ";
    columns += column.name;
  }
  return columns;
}

// Replaces the stored metadata of a sample; the caller holds the transaction.
void WriteMetadata(Connection& connection,
                   const std::string& sample_id,
                   const SampleMetadata& metadata) {
  for (const char* sql : {"DELETE FROM sample_metadata WHERE sample_id = ?1",
                          "DELETE FROM sample_environment WHERE sample_id = ?1"}) {
    Statement remove(connection.Get(), sql);
    remove.BindText(1, sample_id);
    remove.Run();
  }
  if (metadata.Empty()) {
    return;  // no row: a sample without metadata costs nothing
  }
  std::string values = "?1";
  for (size_t index = 0; index < kMetadataColumns.size(); ++index) {
    values += ", ?" + std::to_string(index + 2);
  }
  Statement insert(
      connection.Get(),
      "INSERT INTO sample_metadata (" + MetadataColumnList() + ") VALUES (" + values + ")");
  insert.BindText(1, sample_id);
  for (size_t index = 0; index < kMetadataColumns.size(); ++index) {
    const MetadataColumn& column = kMetadataColumns[index];
    const int parameter = static_cast<int>(index) + 2;
    if (column.text != nullptr) {
      insert.BindTextOrNull(parameter, metadata.*column.text);
    } else {
      insert.BindOptionalReal(parameter, metadata.*column.number);
    }
  }
  insert.Run();
  Statement insert_value(
      connection.Get(),
      "INSERT INTO sample_environment (sample_id, name, value) VALUES (?1, ?2, ?3)");
  for (const auto& [name, value] : metadata.environment) {
    insert_value.BindText(1, sample_id);
    insert_value.BindText(2, name);
    insert_value.BindReal(3, value);
    insert_value.Run();
  }
}

// Reads sample_metadata rows (every column of MetadataColumnList()) into the samples they
// belong to: one sample (`where` "WHERE sample_id = ?1") or all of them (no `where`).
void ReadMetadataInto(Connection& connection,
                      std::string_view where,
                      const std::string& sample_id,
                      const std::function<SampleMetadata*(const std::string&)>& metadata_of) {
  Statement select(
      connection.Get(),
      "SELECT " + MetadataColumnList() + " FROM sample_metadata " + std::string(where));
  if (!where.empty()) {
    select.BindText(1, sample_id);
  }
  while (select.Step()) {
    SampleMetadata* metadata = metadata_of(select.Text(0));
    if (metadata == nullptr) {
      continue;
    }
    for (size_t index = 0; index < kMetadataColumns.size(); ++index) {
      const MetadataColumn& column = kMetadataColumns[index];
      const int column_index = static_cast<int>(index) + 1;
      if (column.text != nullptr) {
        metadata->*column.text = select.Text(column_index);
      } else {
        metadata->*column.number = select.OptionalReal(column_index);
      }
    }
  }
  Statement values(connection.Get(),
                   "SELECT sample_id, name, value FROM sample_environment " + std::string(where) +
                       " ORDER BY sample_id, name");
  if (!where.empty()) {
    values.BindText(1, sample_id);
  }
  while (values.Step()) {
    if (SampleMetadata* metadata = metadata_of(values.Text(0))) {
      metadata->environment[values.Text(1)] = values.Real(2);
    }
  }
}

// Particle measurements are keyed by name, so duplicate names would lose values.
void CheckMeasurementNames(const Sample& sample) {
  std::unordered_set<std::string_view> seen;
  for (const std::string& name : sample.measurement_names) {
    if (!seen.insert(name).second) {
      throw Error(ErrorCode::kInvalidInput,
                  "sample '" + sample.id + "': measurement name '" + name +
                      "' appears twice; names must be unique");
    }
  }
}

int UserVersion(Connection& connection) {
  Statement pragma(connection.Get(), "PRAGMA user_version");
  return pragma.Step() ? static_cast<int>(pragma.Int(0)) : 0;
}

std::string TooNewMessage(const std::string& path, int stored, int known) {
  return "SQLite store '" + path + "': store schema version " + std::to_string(stored) +
         " is newer than this phytoflow (" + std::to_string(known) + "); upgrade phytoflow";
}

// Applies the embedded migrations newer than the store's user_version, all in one transaction.
void Migrate(Connection& connection, const std::string& path) {
  const std::span<const detail::EmbeddedMigration> migrations = detail::EmbeddedSqliteMigrations();
  const int known = migrations.back().version;
  int stored = UserVersion(connection);
  if (stored > known) {
    throw Error(ErrorCode::kUnavailable, TooNewMessage(path, stored, known));
  }
  if (stored == known) {
    return;
  }
  connection.Execute("BEGIN IMMEDIATE");
  try {
    // Another process may have migrated while we waited for the write lock.
    stored = UserVersion(connection);
    if (stored > known) {
      throw Error(ErrorCode::kUnavailable, TooNewMessage(path, stored, known));
    }
    for (const detail::EmbeddedMigration& migration : migrations) {
      if (migration.version > stored) {
        connection.Execute(migration.sql, "migration " + std::string(migration.name));
      }
    }
    connection.Execute("PRAGMA user_version = " + std::to_string(known));
    connection.Execute("COMMIT");
  } catch (...) {
    connection.ExecuteNoThrow("ROLLBACK");
    throw;
  }
}

void Configure(Connection& connection, bool reader) {
  if (!reader) {
    // Persistent in the file; a no-op ("memory") for in-memory stores.
    connection.Execute("PRAGMA journal_mode = WAL");
  }
  connection.Execute("PRAGMA synchronous = NORMAL");
  connection.Execute("PRAGMA foreign_keys = ON");
  Statement check(connection.Get(), "PRAGMA foreign_keys");
  if (!check.Step() || check.Int(0) != 1) {
    throw Error(ErrorCode::kInternal, "SQLite store: this SQLite has no foreign key support");
  }
  if (reader) {
    connection.Execute("PRAGMA query_only = ON");
  }
}

// ---------------------------------------------------------------------------------------------
// The store

constexpr const char* kInsertLabelSql =
    "INSERT INTO labels (sample_id, particle_number, name, source, classification, author, "
    "created_at, probability, top_k) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

void InsertLabel(Statement& insert, const std::string& sample_id, const Label& label) {
  insert.BindText(1, sample_id);
  insert.BindInt(2, label.particle_number);
  insert.BindText(3, label.name);
  insert.BindText(4, label.source);
  insert.BindText(5, label.classification);
  insert.BindText(6, label.author);
  insert.BindText(7, label.created_at);
  insert.BindOptionalReal(8, label.probability);
  insert.BindTextOrNull(9, TopKToJson(label.top_k, "label top_k of sample '" + sample_id + "'"));
  insert.Run();
}

// ---------------------------------------------------------------------------------------------
// Expert label events (docs/validation.md)

constexpr const char* kInsertExpertLabelSql =
    "INSERT INTO expert_labels (sample_id, particle_number, name, status, classification, author, "
    "created_at, undoes, restores) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

// Columns of an expert_labels row as ReadExpertLabel expects them, after any alias prefix.
std::string ExpertLabelColumns(std::string_view alias) {
  std::string columns;
  for (const char* column : {"particle_number",
                             "name",
                             "classification",
                             "author",
                             "created_at",
                             "seq",
                             "status",
                             "undoes",
                             "restores"}) {
    if (!columns.empty()) {
      columns += ", ";
    }
    columns += std::string(alias) + column;
  }
  return columns;
}

Label ReadExpertLabel(const Statement& row) {
  const std::string status_name = row.Text(6);
  const std::optional<ExpertStatus> status = ParseExpertStatus(status_name);
  if (!status) {
    throw Error(ErrorCode::kInternal, "stored expert label: unknown status '" + status_name + "'");
  }
  return Label{.particle_number = row.Int(0),
               .name = row.Text(1),
               .source = kLabelSourceExpert,
               .classification = row.Text(2),
               .author = row.Text(3),
               .created_at = row.Text(4),
               .sequence = row.Int(5),
               .status = *status,
               .undoes = row.OptionalInt(7).value_or(0),
               .restores = row.OptionalInt(8).value_or(0)};
}

// The current expert labels of sample ?1: each classification's newest event per particle,
// unless that event withdrew its label. `e` is the alias of expert_labels.
std::string CurrentExpertLabelsWhere() {
  return "e.sample_id = ?1 AND e.status != '" +
         std::string(ExpertStatusName(ExpertStatus::kWithdrawn)) +
         "' AND e.seq = (SELECT MAX(x.seq) FROM expert_labels x WHERE x.sample_id = e.sample_id "
         "AND x.particle_number = e.particle_number AND x.classification = e.classification)";
}

// Inserts one event and returns its sequence number. `undoes` and `restores` are given apart
// because a sample writer maps them to the numbers of this store.
int64_t InsertExpertLabel(Statement& insert,
                          sqlite3* db,
                          const std::string& sample_id,
                          const Label& label,
                          int64_t undoes,
                          int64_t restores) {
  insert.BindText(1, sample_id);
  insert.BindInt(2, label.particle_number);
  insert.BindText(3, label.name);
  insert.BindText(4, ExpertStatusName(label.status));
  insert.BindText(5, label.classification);
  insert.BindText(6, label.author);
  insert.BindText(7, label.created_at);
  insert.BindOptionalInt(8, undoes != 0 ? std::optional<int64_t>(undoes) : std::nullopt);
  insert.BindOptionalInt(9, restores != 0 ? std::optional<int64_t>(restores) : std::nullopt);
  insert.Run();
  return sqlite3_last_insert_rowid(db);
}

class SqliteSampleWriter;

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::filesystem::path& path);
  ~SqliteStore() override {
    // A writer points into this store; it must be gone first.
    assert(!writer_open_);
  }

  std::unique_ptr<SampleWriter> BeginSample(const Sample& sample, WriteMode mode) override;
  std::vector<Sample> ListSamples() const override;
  std::optional<Sample> FindSample(const std::string& sample_id) const override;
  std::optional<Sample> FindSampleByFingerprint(const std::string& fingerprint) const override;
  void ScanParticles(const std::string& sample_id,
                     const ParticleScan& what,
                     const std::function<void(const Particle&)>& visit) const override;
  std::vector<Label> Labels(const std::string& sample_id) const override;
  std::vector<LabelCount> CountLabels(const std::string& sample_id) const override;
  std::vector<Label> LabelHistory(const std::string& sample_id,
                                  int64_t particle_number) const override;
  void ReplaceLabels(const std::string& sample_id,
                     const std::string& source,
                     const std::string& classification,
                     std::span<const Label> labels) override;
  std::vector<int64_t> AppendExpertLabels(const std::string& sample_id,
                                          std::span<const Label> labels) override;
  void UpdateSampleMetadata(const std::string& sample_id, const SampleMetadata& metadata) override;
  bool DeleteSample(const std::string& sample_id) override;

 private:
  friend class SqliteSampleWriter;

  Db& Reader() const { return read_db_ ? *read_db_ : *write_db_; }
  std::optional<Sample> FindSampleWhere(std::string_view where, const std::string& value) const;

  std::unique_ptr<Db> write_db_;
  std::unique_ptr<Db> read_db_;  // null for ":memory:", which has only one connection
  bool writer_open_ = false;     // guarded by write_db_->mutex
};

class SqliteSampleWriter final : public SampleWriter {
 public:
  // Called with the transaction open and the sample row inserted.
  SqliteSampleWriter(SqliteStore& store, Db& db, const Sample& sample)
      : store_(store),
        db_(db),
        sample_id_(sample.id),
        measurement_names_(sample.measurement_names),
        insert_particle_(db.connection.Get(),
                         "INSERT INTO particles (sample_id, number, guid, collage_file, image_x, "
                         "image_y, image_w, image_h, particles_per_chain, timestamp, esd_um, "
                         "abd_um, biovolume_esd_um3, biovolume_abd_um3, measurements, outlines) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                         "?15, ?16)",
                         true),
        insert_image_(db.connection.Get(),
                      "INSERT INTO particle_images (sample_id, number, image_png, mask_png) "
                      "VALUES (?1, ?2, ?3, ?4)",
                      true),
        insert_label_(db.connection.Get(), kInsertLabelSql, true),
        insert_expert_label_(db.connection.Get(), kInsertExpertLabelSql, true) {
    const std::string what = "sample '" + sample.id + "' measurement_names";
    WithJsonErrors(ErrorCode::kInvalidInput, what, [&] {
      for (const std::string& name : measurement_names_) {
        measurement_keys_.push_back(Json(name).dump() + ":");
      }
      return 0;
    });
  }

  ~SqliteSampleWriter() override {
    if (active_) {
      std::lock_guard lock(db_.mutex);
      End(false);
    }
  }
  SqliteSampleWriter(const SqliteSampleWriter&) = delete;
  SqliteSampleWriter& operator=(const SqliteSampleWriter&) = delete;

  void AddParticles(std::span<const Particle> particles) override {
    std::lock_guard lock(db_.mutex);
    CheckActive();
    try {
      for (const Particle& particle : particles) {
        InsertParticle(particle);
      }
    } catch (...) {
      // A half-written batch must never be committed: give up the whole sample.
      End(false);
      throw;
    }
  }

  void AddLabels(std::span<const Label> labels) override {
    std::lock_guard lock(db_.mutex);
    CheckActive();
    try {
      for (const Label& label : labels) {
        if (label.source != kLabelSourceExpert) {
          InsertLabel(insert_label_, sample_id_, label);
          continue;
        }
        // Numbers of the events given earlier to this writer become this store's numbers; an
        // undo of an event not given stays as a plain event.
        const auto mapped = [&](int64_t given) -> int64_t {
          const auto found = sequence_map_.find(given);
          return given != 0 && found != sequence_map_.end() ? found->second : 0;
        };
        const int64_t undoes = mapped(label.undoes);
        const int64_t sequence = InsertExpertLabel(insert_expert_label_,
                                                   db_.connection.Get(),
                                                   sample_id_,
                                                   label,
                                                   undoes,
                                                   undoes != 0 ? mapped(label.restores) : 0);
        if (label.sequence != 0) {
          sequence_map_[label.sequence] = sequence;
        }
      }
    } catch (...) {
      End(false);
      throw;
    }
  }

  void Commit(const Sample& sample) override {
    std::lock_guard lock(db_.mutex);
    CheckActive();
    try {
      if (sample.id != sample_id_) {
        throw Error(ErrorCode::kInvalidInput,
                    "Commit: expected sample '" + sample_id_ + "', found '" + sample.id + "'");
      }
      if (sample.measurement_names != measurement_names_) {
        throw Error(ErrorCode::kInvalidInput,
                    "Commit: sample '" + sample.id +
                        "' has other measurement_names than at BeginSample; particles are keyed "
                        "by the names given there");
      }
      Connection& connection = db_.connection;
      {
        Statement update(connection.Get(), UpdateSampleSql());
        BindSample(update, sample);
        update.Run();
      }
      InsertFiles(connection, sample);
      WriteMetadata(connection, sample.id, sample.metadata);
      connection.Execute("COMMIT");
    } catch (...) {
      End(false);
      throw;
    }
    End(true);
  }

 private:
  void CheckActive() const {
    if (!active_) {
      throw Error(ErrorCode::kInternal,
                  "sample writer for '" + sample_id_ +
                      "' was already committed or rolled back after an error");
    }
  }

  // Finishes the transaction (already committed, or rolled back here) and frees the store for
  // the next writer. Caller holds db_.mutex.
  void End(bool committed) noexcept {
    if (!committed) {
      // Fails harmlessly when SQLite already rolled back by itself (e.g. after SQLITE_FULL).
      db_.connection.ExecuteNoThrow("ROLLBACK");
    }
    active_ = false;
    store_.writer_open_ = false;
  }

  void InsertParticle(const Particle& particle) {
    if (particle.measurements.size() > measurement_keys_.size()) {
      throw Error(ErrorCode::kInvalidInput,
                  "sample '" + sample_id_ + "' particle " + std::to_string(particle.number) +
                      ": expected at most " + std::to_string(measurement_keys_.size()) +
                      " measurements (one per measurement name), found " +
                      std::to_string(particle.measurements.size()));
    }
    measurements_json_.clear();
    measurements_json_ += '{';
    for (size_t index = 0; index < particle.measurements.size(); ++index) {
      if (index > 0) {
        measurements_json_ += ',';
      }
      measurements_json_ += measurement_keys_[index];
      AppendJsonNumber(particle.measurements[index], measurements_json_);
    }
    measurements_json_ += '}';

    Statement& insert = insert_particle_;
    insert.BindText(1, sample_id_);
    insert.BindInt(2, particle.number);
    insert.BindTextOrNull(3, particle.guid);
    insert.BindText(4, particle.collage_file);
    insert.BindInt(5, particle.box.x);
    insert.BindInt(6, particle.box.y);
    insert.BindInt(7, particle.box.width);
    insert.BindInt(8, particle.box.height);
    insert.BindInt(9, particle.particles_per_chain);
    insert.BindText(10, particle.timestamp);
    insert.BindReal(11, particle.esd_um);
    insert.BindReal(12, particle.abd_um);
    insert.BindReal(13, particle.biovolume_esd_um3);
    insert.BindReal(14, particle.biovolume_abd_um3);
    insert.BindText(15, measurements_json_);
    if (particle.outlines.empty()) {
      insert.BindNull(16);
    } else {
      insert.BindText(16, EncodeOutlines(particle.outlines, particle.number));
    }
    insert.Run();

    if (!particle.image_png.empty() || !particle.mask_png.empty()) {
      insert_image_.BindText(1, sample_id_);
      insert_image_.BindInt(2, particle.number);
      insert_image_.BindBlobOrNull(3, particle.image_png);
      insert_image_.BindBlobOrNull(4, particle.mask_png);
      insert_image_.Run();
    }
  }

  SqliteStore& store_;
  Db& db_;
  std::string sample_id_;
  std::vector<std::string> measurement_names_;
  std::vector<std::string> measurement_keys_;  // "\"name\":" for each measurement name
  std::string measurements_json_;              // reused buffer
  Statement insert_particle_;
  Statement insert_image_;
  Statement insert_label_;
  Statement insert_expert_label_;
  std::unordered_map<int64_t, int64_t> sequence_map_;  // given sequence → this store's
  bool active_ = true;
};

SqliteStore::SqliteStore(const std::filesystem::path& path) {
  const std::string text = path.string();
  if (text.empty()) {
    throw Error(ErrorCode::kInvalidInput, "SQLite store: expected a file path or ':memory:'");
  }
  write_db_ = std::make_unique<Db>(text);
  Configure(write_db_->connection, false);
  Migrate(write_db_->connection, text);
  if (text != kMemoryPath) {
    // WAL lets this second connection read the last commit while a writer is open.
    read_db_ = std::make_unique<Db>(text);
    Configure(read_db_->connection, true);
  }
}

std::unique_ptr<SampleWriter> SqliteStore::BeginSample(const Sample& sample, WriteMode mode) {
  CheckMeasurementNames(sample);
  std::lock_guard lock(write_db_->mutex);
  if (writer_open_) {
    throw Error(
        ErrorCode::kConflict,
        "cannot write sample '" + sample.id + "': another sample is being written to this store");
  }
  Connection& connection = write_db_->connection;
  connection.Execute("BEGIN IMMEDIATE");
  try {
    if (mode == WriteMode::kReplace) {
      Statement remove(connection.Get(), "DELETE FROM samples WHERE id = ?1");
      remove.BindText(1, sample.id);
      remove.Run();
    } else {
      Statement exists(connection.Get(), "SELECT 1 FROM samples WHERE id = ?1");
      exists.BindText(1, sample.id);
      if (exists.Step()) {
        throw Error(ErrorCode::kConflict,
                    "sample '" + sample.id + "' already exists; replace it or choose another id");
      }
    }
    {
      // Final metadata and files come with Commit(); the row is needed now for the foreign keys.
      Statement insert(connection.Get(), InsertSampleSql());
      BindSample(insert, sample);
      insert.Run();
    }
    auto writer = std::make_unique<SqliteSampleWriter>(*this, *write_db_, sample);
    writer_open_ = true;
    return writer;
  } catch (...) {
    connection.ExecuteNoThrow("ROLLBACK");
    throw;
  }
}

std::vector<Sample> SqliteStore::ListSamples() const {
  Db& db = Reader();
  std::lock_guard lock(db.mutex);
  ReadSnapshot snapshot(db.connection);
  std::vector<Sample> samples;
  {
    Statement select(db.connection.Get(), SelectSampleSql(false, "ORDER BY ingested_at, id"));
    while (select.Step()) {
      samples.push_back(ReadSample(select));
    }
  }
  std::unordered_map<std::string, size_t> index_of;
  for (size_t index = 0; index < samples.size(); ++index) {
    index_of.emplace(samples[index].id, index);
  }
  ReadMetadataInto(db.connection, "", "", [&](const std::string& id) -> SampleMetadata* {
    const auto found = index_of.find(id);
    return found != index_of.end() ? &samples[found->second].metadata : nullptr;
  });
  return samples;
}

std::optional<Sample> SqliteStore::FindSampleWhere(std::string_view where,
                                                   const std::string& value) const {
  Db& db = Reader();
  std::lock_guard lock(db.mutex);
  ReadSnapshot snapshot(db.connection);
  std::optional<Sample> sample;
  {
    Statement select(db.connection.Get(), SelectSampleSql(true, where));
    select.BindText(1, value);
    if (!select.Step()) {
      return std::nullopt;
    }
    sample = ReadSample(select);
  }
  sample->files = ReadFiles(db.connection, sample->id);
  ReadMetadataInto(db.connection, "WHERE sample_id = ?1", sample->id, [&](const std::string&) {
    return &sample->metadata;
  });
  return sample;
}

std::optional<Sample> SqliteStore::FindSample(const std::string& sample_id) const {
  return FindSampleWhere("WHERE id = ?1", sample_id);
}

std::optional<Sample> SqliteStore::FindSampleByFingerprint(const std::string& fingerprint) const {
  return FindSampleWhere("WHERE fingerprint = ?1", fingerprint);
}

void SqliteStore::ScanParticles(const std::string& sample_id,
                                const ParticleScan& what,
                                const std::function<void(const Particle&)>& visit) const {
  Db& db = Reader();
  std::lock_guard lock(db.mutex);
  ReadSnapshot snapshot(db.connection);

  std::vector<std::string> names;
  {
    Statement select(db.connection.Get(), "SELECT measurement_names FROM samples WHERE id = ?1");
    select.BindText(1, sample_id);
    if (!select.Step()) {
      return;
    }
    names = StringsFromJson(select.Text(0), "stored sample '" + sample_id + "' measurement_names");
  }
  std::unordered_map<std::string, size_t> name_index;
  for (size_t index = 0; index < names.size(); ++index) {
    name_index.emplace(names[index], index);
  }

  std::string sql =
      "SELECT p.number, p.guid, p.collage_file, p.image_x, p.image_y, p.image_w, p.image_h, "
      "p.particles_per_chain, p.timestamp, p.esd_um, p.abd_um, p.biovolume_esd_um3, "
      "p.biovolume_abd_um3, ";
  sql += what.measurements ? "p.measurements, " : "NULL, ";
  sql += what.outlines ? "p.outlines, " : "NULL, ";
  sql += what.images ? "i.image_png, i.mask_png FROM particles p LEFT JOIN particle_images i "
                       "ON i.sample_id = p.sample_id AND i.number = p.number "
                     : "NULL, NULL FROM particles p ";
  sql += "WHERE p.sample_id = ?1 AND p.number BETWEEN ?2 AND ?3 ORDER BY p.number";
  Statement select(db.connection.Get(), sql);
  select.BindText(1, sample_id);
  select.BindInt(2, what.first_number);
  select.BindInt(3, what.last_number);

  Particle particle;
  while (select.Step()) {
    particle.number = select.Int(0);
    particle.guid = select.Text(1);
    particle.collage_file = select.Text(2);
    particle.box = PixelBox{.x = static_cast<int>(select.Int(3)),
                            .y = static_cast<int>(select.Int(4)),
                            .width = static_cast<int>(select.Int(5)),
                            .height = static_cast<int>(select.Int(6))};
    particle.particles_per_chain = select.Int(7);
    particle.timestamp = select.Text(8);
    particle.esd_um = select.Real(9);
    particle.abd_um = select.Real(10);
    particle.biovolume_esd_um3 = select.Real(11);
    particle.biovolume_abd_um3 = select.Real(12);

    particle.measurements.clear();
    if (what.measurements) {
      particle.measurements.assign(names.size(), kMissing);
      const std::string measurements = select.Text(13);
      WithJsonErrors(ErrorCode::kInternal,
                     "stored sample '" + sample_id + "' particle " +
                         std::to_string(particle.number) + " measurements",
                     [&] {
                       const Json parsed = Json::parse(measurements);
                       for (const auto& item : parsed.items()) {
                         const auto found = name_index.find(item.key());
                         if (found != name_index.end()) {
                           particle.measurements[found->second] = JsonToMeasurement(item.value());
                         }
                       }
                       return 0;
                     });
    }

    particle.outlines = DecodeOutlines(select.Text(14), particle.number);
    particle.image_png = select.Blob(15);
    particle.mask_png = select.Blob(16);
    visit(particle);
  }
}

// A row of `labels` or `label_history` in the columns of kLabelColumns.
constexpr const char* kLabelColumns =
    "particle_number, name, source, classification, author, created_at, probability, top_k";

Label ReadLabel(const Statement& row) {
  return Label{.particle_number = row.Int(0),
               .name = row.Text(1),
               .source = row.Text(2),
               .classification = row.Text(3),
               .author = row.Text(4),
               .created_at = row.Text(5),
               .probability = row.OptionalReal(6),
               .top_k = TopKFromJson(row.Text(7), "label top_k")};
}

std::vector<Label> SqliteStore::Labels(const std::string& sample_id) const {
  Db& db = Reader();
  std::lock_guard lock(db.mutex);
  ReadSnapshot snapshot(db.connection);
  Statement select(db.connection.Get(),
                   std::string("SELECT ") + kLabelColumns +
                       " FROM labels WHERE sample_id = ?1 ORDER BY particle_number, id");
  select.BindText(1, sample_id);
  Statement select_expert(db.connection.Get(),
                          "SELECT " + ExpertLabelColumns("e.") + " FROM expert_labels e WHERE " +
                              CurrentExpertLabelsWhere() + " ORDER BY e.particle_number, e.seq");
  select_expert.BindText(1, sample_id);
  // Both are ordered by particle: merge them, the other sources' labels first.
  std::vector<Label> labels;
  bool more = select.Step();
  bool more_expert = select_expert.Step();
  while (more || more_expert) {
    if (more && (!more_expert || select.Int(0) <= select_expert.Int(0))) {
      labels.push_back(ReadLabel(select));
      more = select.Step();
    } else {
      labels.push_back(ReadExpertLabel(select_expert));
      more_expert = select_expert.Step();
    }
  }
  return labels;
}

std::vector<LabelCount> SqliteStore::CountLabels(const std::string& sample_id) const {
  Db& db = Reader();
  std::lock_guard lock(db.mutex);
  // DISTINCT: a particle labelled twice with the same name is still one particle.
  Statement select(
      db.connection.Get(),
      "SELECT source, classification, name, COUNT(DISTINCT particle_number) FROM ("
      "SELECT source, classification, name, particle_number FROM labels WHERE sample_id = ?1 "
      "UNION ALL SELECT ?2, e.classification, CASE e.status WHEN '" +
          std::string(ExpertStatusName(ExpertStatus::kDubious)) +
          "' THEN ?3 ELSE e.name END, e.particle_number FROM expert_labels e WHERE " +
          CurrentExpertLabelsWhere() +
          ") GROUP BY source, classification, name ORDER BY source, classification, name");
  select.BindText(1, sample_id);
  select.BindText(2, kLabelSourceExpert);
  select.BindText(3, kDubiousLabel);
  std::vector<LabelCount> counts;
  while (select.Step()) {
    counts.push_back(LabelCount{.source = select.Text(0),
                                .classification = select.Text(1),
                                .name = select.Text(2),
                                .count = select.Int(3)});
  }
  return counts;
}

std::vector<Label> SqliteStore::LabelHistory(const std::string& sample_id,
                                             int64_t particle_number) const {
  Db& db = Reader();
  std::lock_guard lock(db.mutex);
  ReadSnapshot snapshot(db.connection);
  std::vector<Label> history;
  {
    // Replaced labels (is_current = 0) before current ones of the same time.
    Statement select(db.connection.Get(),
                     std::string("SELECT ") + kLabelColumns +
                         ", 0 AS is_current, id FROM label_history "
                         "WHERE sample_id = ?1 AND particle_number = ?2 UNION ALL SELECT " +
                         kLabelColumns +
                         ", 1, id FROM labels WHERE sample_id = ?1 AND particle_number = ?2 "
                         "ORDER BY created_at, is_current, id");
    select.BindText(1, sample_id);
    select.BindInt(2, particle_number);
    while (select.Step()) {
      history.push_back(ReadLabel(select));
    }
  }
  Statement select_expert(db.connection.Get(),
                          "SELECT " + ExpertLabelColumns("") +
                              " FROM expert_labels WHERE sample_id = ?1 AND particle_number = ?2 "
                              "ORDER BY seq");
  select_expert.BindText(1, sample_id);
  select_expert.BindInt(2, particle_number);
  while (select_expert.Step()) {
    history.push_back(ReadExpertLabel(select_expert));
  }
  return history;
}

void SqliteStore::ReplaceLabels(const std::string& sample_id,
                                const std::string& source,
                                const std::string& classification,
                                std::span<const Label> labels) {
  if (source == kLabelSourceExpert) {
    throw Error(ErrorCode::kInvalidInput,
                "ReplaceLabels: expert labels are events that are appended, never replaced "
                "(AppendExpertLabels); sample '" +
                    sample_id + "', classification '" + classification + "'");
  }
  for (const Label& label : labels) {
    if (label.source != source || label.classification != classification) {
      throw Error(ErrorCode::kInvalidInput,
                  "ReplaceLabels: a label of source '" + label.source + "' / '" +
                      label.classification + "' given to replace '" + source + "' / '" +
                      classification + "'");
    }
  }
  std::lock_guard lock(write_db_->mutex);
  if (writer_open_) {
    throw Error(ErrorCode::kConflict,
                "cannot write labels of sample '" + sample_id +
                    "' while a sample is being written to this store");
  }
  Connection& connection = write_db_->connection;
  connection.Execute("BEGIN IMMEDIATE");
  try {
    {
      Statement exists(connection.Get(), "SELECT 1 FROM samples WHERE id = ?1");
      exists.BindText(1, sample_id);
      if (!exists.Step()) {
        throw Error(ErrorCode::kNotFound, "no sample '" + sample_id + "' in the store");
      }
    }
    // The replaced labels stay in the history.
    Statement keep(connection.Get(),
                   std::string("INSERT INTO label_history (sample_id, ") + kLabelColumns +
                       ", replaced_at) SELECT sample_id, " + kLabelColumns +
                       ", ?4 FROM labels WHERE sample_id = ?1 AND source = ?2 AND "
                       "classification = ?3 ORDER BY id");
    keep.BindText(1, sample_id);
    keep.BindText(2, source);
    keep.BindText(3, classification);
    keep.BindText(4, NowUtcIso8601());
    keep.Run();
    Statement remove(
        connection.Get(),
        "DELETE FROM labels WHERE sample_id = ?1 AND source = ?2 AND classification = ?3");
    remove.BindText(1, sample_id);
    remove.BindText(2, source);
    remove.BindText(3, classification);
    remove.Run();
    Statement insert(connection.Get(), kInsertLabelSql, true);
    for (const Label& label : labels) {
      InsertLabel(insert, sample_id, label);
    }
    connection.Execute("COMMIT");
  } catch (...) {
    connection.ExecuteNoThrow("ROLLBACK");
    throw;
  }
}

std::vector<int64_t> SqliteStore::AppendExpertLabels(const std::string& sample_id,
                                                     std::span<const Label> labels) {
  CheckExpertLabels(sample_id, labels);
  std::lock_guard lock(write_db_->mutex);
  if (writer_open_) {
    throw Error(ErrorCode::kConflict,
                "cannot write labels of sample '" + sample_id +
                    "' while a sample is being written to this store");
  }
  Connection& connection = write_db_->connection;
  // The write lock is taken first, so the checks below still hold at COMMIT and the numbers
  // are given in commit order.
  connection.Execute("BEGIN IMMEDIATE");
  try {
    {
      Statement exists(connection.Get(), "SELECT 1 FROM samples WHERE id = ?1");
      exists.BindText(1, sample_id);
      if (!exists.Step()) {
        throw Error(ErrorCode::kNotFound, "no sample '" + sample_id + "' in the store");
      }
    }
    {
      Statement particle(connection.Get(),
                         "SELECT 1 FROM particles WHERE sample_id = ?1 AND number = ?2");
      std::unordered_set<int64_t> checked;
      std::vector<int64_t> missing;
      for (const Label& label : labels) {
        if (!checked.insert(label.particle_number).second) {
          continue;
        }
        particle.BindText(1, sample_id);
        particle.BindInt(2, label.particle_number);
        const bool found = particle.Step();
        particle.Reset();
        if (!found) {
          missing.push_back(label.particle_number);
        }
      }
      if (!missing.empty()) {
        throw Error(ErrorCode::kNotFound, MissingParticlesMessage(sample_id, missing));
      }
    }
    Statement newest(connection.Get(),
                     "SELECT MAX(seq) FROM expert_labels WHERE sample_id = ?1 AND "
                     "particle_number = ?2");
    Statement insert(connection.Get(), kInsertExpertLabelSql);
    std::unordered_map<int64_t, int64_t> newest_of;  // events of this call, by particle
    std::vector<int64_t> sequences;
    sequences.reserve(labels.size());
    for (const Label& label : labels) {
      if (label.undoes != 0) {
        auto found = newest_of.find(label.particle_number);
        int64_t newest_sequence = 0;
        if (found != newest_of.end()) {
          newest_sequence = found->second;
        } else {
          newest.BindText(1, sample_id);
          newest.BindInt(2, label.particle_number);
          newest_sequence = newest.Step() ? newest.OptionalInt(0).value_or(0) : 0;
          newest.Reset();
        }
        if (newest_sequence != label.undoes) {
          throw Error(ErrorCode::kConflict,
                      "sample '" + sample_id + "' particle " +
                          std::to_string(label.particle_number) + ": cannot undo event " +
                          std::to_string(label.undoes) + ", the newest event is " +
                          std::to_string(newest_sequence) + "; nothing was written");
        }
      }
      const int64_t sequence = InsertExpertLabel(
          insert, connection.Get(), sample_id, label, label.undoes, label.restores);
      newest_of[label.particle_number] = sequence;
      sequences.push_back(sequence);
    }
    connection.Execute("COMMIT");
    return sequences;
  } catch (...) {
    connection.ExecuteNoThrow("ROLLBACK");
    throw;
  }
}

void SqliteStore::UpdateSampleMetadata(const std::string& sample_id,
                                       const SampleMetadata& metadata) {
  std::lock_guard lock(write_db_->mutex);
  if (writer_open_) {
    throw Error(ErrorCode::kConflict,
                "cannot write the metadata of sample '" + sample_id +
                    "' while a sample is being written to this store");
  }
  Connection& connection = write_db_->connection;
  connection.Execute("BEGIN IMMEDIATE");
  try {
    {
      Statement exists(connection.Get(), "SELECT 1 FROM samples WHERE id = ?1");
      exists.BindText(1, sample_id);
      if (!exists.Step()) {
        throw Error(ErrorCode::kNotFound, "no sample '" + sample_id + "' in the store");
      }
    }
    WriteMetadata(connection, sample_id, metadata);
    connection.Execute("COMMIT");
  } catch (...) {
    connection.ExecuteNoThrow("ROLLBACK");
    throw;
  }
}

bool SqliteStore::DeleteSample(const std::string& sample_id) {
  std::lock_guard lock(write_db_->mutex);
  if (writer_open_) {
    throw Error(
        ErrorCode::kConflict,
        "cannot delete sample '" + sample_id + "' while a sample is being written to this store");
  }
  Connection& connection = write_db_->connection;
  // Particles, images, labels and files go with it (ON DELETE CASCADE), in one statement.
  Statement remove(connection.Get(), "DELETE FROM samples WHERE id = ?1");
  remove.BindText(1, sample_id);
  remove.Run();
  return sqlite3_changes(connection.Get()) > 0;
}

}  // namespace

std::unique_ptr<Store> OpenSqliteStore(const std::filesystem::path& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace phytoflow
