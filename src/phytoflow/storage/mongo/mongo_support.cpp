#include "phytoflow/storage/mongo/mongo_support.h"

#include "phytoflow/core/version.h"
#include "phytoflow/storage/mongo/mongo_store.h"

#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>

namespace phytoflow::detail {
namespace {

// Bounds added to a URI that does not set them, so that a down or silent server fails a call in
// seconds instead of the driver's 30 s selection and 5 min socket defaults.
constexpr int32_t kDefaultServerSelectionTimeoutMs = 5000;
constexpr int32_t kDefaultConnectTimeoutMs = 5000;
constexpr int32_t kDefaultSocketTimeoutMs = 60000;

// Set while the driver parses a URI: it logs the errors it also returns, which we report.
thread_local bool parsing_uri = false;

void LogToStderr(mongoc_log_level_t level,
                 const char* domain,
                 const char* message,
                 void* /*user_data*/) {
  if (level > MONGOC_LOG_LEVEL_WARNING || parsing_uri) {
    return;  // MESSAGE, INFO, DEBUG, TRACE: the driver's own chatter
  }
  std::cerr << "phytoflow: " << (level == MONGOC_LOG_LEVEL_WARNING ? "warning" : "error")
            << ": MongoDB driver (" << domain << "): " << message << "\n";
}

bool HasCode(const bson_error_t& error, std::initializer_list<uint32_t> codes) {
  for (uint32_t code : codes) {
    if (error.code == code) {
      return true;
    }
  }
  return false;
}

std::string BsonTypeName(bson_type_t type) {
  switch (type) {
    case BSON_TYPE_DOUBLE:
      return "double";
    case BSON_TYPE_UTF8:
      return "string";
    case BSON_TYPE_DOCUMENT:
      return "document";
    case BSON_TYPE_ARRAY:
      return "array";
    case BSON_TYPE_BINARY:
      return "binary";
    case BSON_TYPE_BOOL:
      return "bool";
    case BSON_TYPE_DATE_TIME:
      return "date";
    case BSON_TYPE_NULL:
      return "null";
    case BSON_TYPE_INT32:
      return "int32";
    case BSON_TYPE_INT64:
      return "int64";
    default:
      return "BSON type " + std::to_string(static_cast<int>(type));
  }
}

[[noreturn]] void WrongType(const bson_iter_t& iter, std::string_view what, const char* expected) {
  throw Error(ErrorCode::kInternal,
              std::string(what) + ": expected " + expected + ", found " +
                  BsonTypeName(bson_iter_type(&iter)));
}

int64_t ReplyCount(const bson_t& reply, const char* key) {
  bson_iter_t iter;
  if (bson_iter_init_find(&iter, &reply, key) && BSON_ITER_HOLDS_NUMBER(&iter)) {
    return bson_iter_as_int64(&iter);
  }
  return 0;
}

// Owns a reply document that the driver initialises in every case, success or not.
struct Reply {
  Reply() = default;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply() { bson_destroy(&doc); }
  bson_t doc = BSON_INITIALIZER;
};

// The parts of a MongoDB URI that must never be shown, found by text so that even a URI the
// driver refuses is redacted: [begin, end) ranges of the password and of *password* options.
std::vector<std::pair<size_t, size_t>> SecretRanges(std::string_view uri) {
  std::vector<std::pair<size_t, size_t>> ranges;
  const size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) {
    return ranges;
  }
  const size_t authority = scheme_end + 3;
  const size_t query = uri.find('?', authority);
  // Hosts cannot contain '@', so the last one before the options ends the user info.
  const size_t at = uri.substr(0, query).rfind('@');
  if (at != std::string_view::npos && at > authority) {
    const size_t colon = uri.find(':', authority);
    if (colon != std::string_view::npos && colon < at) {
      ranges.emplace_back(colon + 1, at);
    }
  }
  if (query != std::string_view::npos) {
    size_t option = query + 1;
    while (option < uri.size()) {
      size_t end = uri.find_first_of("&;", option);
      if (end == std::string_view::npos) {
        end = uri.size();
      }
      const size_t equals = uri.find('=', option);
      if (equals != std::string_view::npos && equals < end) {
        std::string name(uri.substr(option, equals - option));
        for (char& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (name.find("password") != std::string::npos) {
          ranges.emplace_back(equals + 1, end);
        }
      }
      option = end + 1;
    }
  }
  return ranges;
}

std::string PercentDecoded(std::string_view text) {
  std::string decoded;
  for (size_t index = 0; index < text.size(); ++index) {
    if (text[index] == '%' && index + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[index + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[index + 2]))) {
      decoded += static_cast<char>(std::stoi(std::string(text.substr(index + 1, 2)), nullptr, 16));
      index += 2;
    } else {
      decoded += text[index];
    }
  }
  return decoded;
}

}  // namespace

void InitMongoDriver() {
  static std::once_flag once;
  std::call_once(once, [] {
    mongoc_init();
    mongoc_log_set_handler(LogToStderr, nullptr);
    std::atexit(mongoc_cleanup);
  });
}

// ---------------------------------------------------------------------------------------------
// Errors

ErrorCode ErrorCodeFor(const bson_error_t& error) {
  if (IsDuplicateKey(error)) {
    return ErrorCode::kConflict;
  }
  switch (error.domain) {
    case MONGOC_ERROR_SERVER_SELECTION:
    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_SASL:
      return ErrorCode::kUnavailable;
    case MONGOC_ERROR_CLIENT:
      return error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE ? ErrorCode::kUnavailable
                                                            : ErrorCode::kInternal;
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_WRITE_CONCERN:
      // Server codes: HostUnreachable, HostNotFound, Unauthorized, AuthenticationFailed,
      // NetworkTimeout, ShutdownInProgress, PrimarySteppedDown, NotWritablePrimary,
      // InterruptedAtShutdown, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary.
      return HasCode(error, {6, 7, 13, 18, 89, 91, 189, 10107, 11600, 13435, 13436})
                 ? ErrorCode::kUnavailable
                 : ErrorCode::kInternal;
    default:
      return ErrorCode::kInternal;
  }
}

bool IsDuplicateKey(const bson_error_t& error) {
  return (error.domain == MONGOC_ERROR_SERVER || error.domain == MONGOC_ERROR_COLLECTION ||
          error.domain == MONGOC_ERROR_COMMAND) &&
         HasCode(error, {11000, 11001, 12582});
}

void ThrowMongoError(const MongoTarget& target, const bson_error_t& error, std::string_view what) {
  if (error.domain == MONGOC_ERROR_SERVER_SELECTION) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", target.server_selection_timeout_ms / 1000.0);
    throw Error(ErrorCode::kUnavailable,
                "cannot reach MongoDB at " + target.hosts + " within " + seconds +
                    " s: " + error.message + " (" + std::string(what) + ")");
  }
  throw Error(ErrorCodeFor(error),
              "MongoDB store " + target.redacted_uri + ": " + std::string(what) + ": " +
                  error.message + " (error " + std::to_string(error.domain) + "." +
                  std::to_string(error.code) + ")");
}

// ---------------------------------------------------------------------------------------------
// Building documents

void BsonBuilder::CheckAppend(bool ok, std::string_view key) {
  if (!ok) {
    // libbson refuses only documents over 2 GB; the server's own 16 MB limit comes earlier.
    throw Error(ErrorCode::kInvalidInput,
                "MongoDB store: cannot add field '" + std::string(key) + "': document too large");
  }
}

BsonBuilder& BsonBuilder::Utf8(std::string_view key, std::string_view value) {
  CheckAppend(bson_append_utf8(doc_,
                               key.data(),
                               KeyLength(key),
                               value.data() != nullptr ? value.data() : "",
                               static_cast<int>(value.size())),
              key);
  return *this;
}

BsonBuilder& BsonBuilder::Utf8OrNull(std::string_view key, std::string_view value) {
  return value.empty() ? Null(key) : Utf8(key, value);
}

BsonBuilder& BsonBuilder::Int32(std::string_view key, int32_t value) {
  CheckAppend(bson_append_int32(doc_, key.data(), KeyLength(key), value), key);
  return *this;
}

BsonBuilder& BsonBuilder::Int64(std::string_view key, int64_t value) {
  CheckAppend(bson_append_int64(doc_, key.data(), KeyLength(key), value), key);
  return *this;
}

BsonBuilder& BsonBuilder::Double(std::string_view key, double value) {
  CheckAppend(bson_append_double(doc_, key.data(), KeyLength(key), value), key);
  return *this;
}

BsonBuilder& BsonBuilder::DoubleOrNull(std::string_view key, double value) {
  return std::isnan(value) ? Null(key) : Double(key, value);
}

BsonBuilder& BsonBuilder::OptionalDouble(std::string_view key, std::optional<double> value) {
  return value ? Double(key, *value) : Null(key);
}

BsonBuilder& BsonBuilder::OptionalInt64(std::string_view key, std::optional<int64_t> value) {
  return value ? Int64(key, *value) : Null(key);
}

BsonBuilder& BsonBuilder::Bool(std::string_view key, bool value) {
  CheckAppend(bson_append_bool(doc_, key.data(), KeyLength(key), value), key);
  return *this;
}

BsonBuilder& BsonBuilder::Null(std::string_view key) {
  CheckAppend(bson_append_null(doc_, key.data(), KeyLength(key)), key);
  return *this;
}

BsonBuilder& BsonBuilder::Binary(std::string_view key, std::span<const uint8_t> bytes) {
  static const uint8_t kNoBytes = 0;  // libbson wants a pointer even for zero bytes
  CheckAppend(bson_append_binary(doc_,
                                 key.data(),
                                 KeyLength(key),
                                 BSON_SUBTYPE_BINARY,
                                 bytes.empty() ? &kNoBytes : bytes.data(),
                                 static_cast<uint32_t>(bytes.size())),
              key);
  return *this;
}

BsonBuilder& BsonBuilder::BinaryOrNull(std::string_view key, std::span<const uint8_t> bytes) {
  return bytes.empty() ? Null(key) : Binary(key, bytes);
}

BsonBuilder& BsonBuilder::DateTime(std::string_view key, int64_t ms_since_epoch) {
  CheckAppend(bson_append_date_time(doc_, key.data(), KeyLength(key), ms_since_epoch), key);
  return *this;
}

BsonBuilder& BsonBuilder::CopyDocument(std::string_view key, const bson_t* document) {
  CheckAppend(bson_append_document(doc_, key.data(), KeyLength(key), document), key);
  return *this;
}

BsonBuilder& BsonBuilder::CopyArray(std::string_view key, const bson_t* array) {
  CheckAppend(bson_append_array(doc_, key.data(), KeyLength(key), array), key);
  return *this;
}

std::string_view BsonBuilder::NextIndex() {
  const char* key = nullptr;
  const size_t length = bson_uint32_to_string(next_index_++, &key, index_key_, sizeof index_key_);
  return std::string_view(key, length);
}

std::string Bson::ToJson() const {
  size_t length = 0;
  char* json = bson_as_relaxed_extended_json(doc_, &length);
  std::string text = json != nullptr ? std::string(json, length) : std::string();
  bson_free(json);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Reading documents

std::string_view Key(const bson_iter_t& iter) {
  return std::string_view(bson_iter_key(&iter), bson_iter_key_len(&iter));
}

std::string ReadUtf8(const bson_iter_t& iter, std::string_view what) {
  if (BSON_ITER_HOLDS_NULL(&iter)) {
    return {};
  }
  if (!BSON_ITER_HOLDS_UTF8(&iter)) {
    WrongType(iter, what, "a string");
  }
  uint32_t length = 0;
  const char* text = bson_iter_utf8(&iter, &length);
  return std::string(text, length);
}

double ReadDouble(const bson_iter_t& iter, std::string_view what) {
  switch (bson_iter_type(&iter)) {
    case BSON_TYPE_DOUBLE:
      return bson_iter_double(&iter);
    case BSON_TYPE_INT32:
      return bson_iter_int32(&iter);
    case BSON_TYPE_INT64:
      return static_cast<double>(bson_iter_int64(&iter));
    case BSON_TYPE_NULL:
      return std::nan("");
    default:
      WrongType(iter, what, "a number or null");
  }
}

std::optional<double> ReadOptionalDouble(const bson_iter_t& iter, std::string_view what) {
  if (BSON_ITER_HOLDS_NULL(&iter)) {
    return std::nullopt;
  }
  return ReadDouble(iter, what);
}

int64_t ReadInt64(const bson_iter_t& iter, std::string_view what) {
  switch (bson_iter_type(&iter)) {
    case BSON_TYPE_INT32:
      return bson_iter_int32(&iter);
    case BSON_TYPE_INT64:
      return bson_iter_int64(&iter);
    case BSON_TYPE_DOUBLE: {
      // A shell user who edits a document writes doubles; whole ones are accepted.
      const double value = bson_iter_double(&iter);
      if (std::trunc(value) == value && std::fabs(value) < 9.0e15) {
        return static_cast<int64_t>(value);
      }
      WrongType(iter, what, "an integer");
    }
    default:
      WrongType(iter, what, "an integer");
  }
}

std::optional<int64_t> ReadOptionalInt64(const bson_iter_t& iter, std::string_view what) {
  if (BSON_ITER_HOLDS_NULL(&iter)) {
    return std::nullopt;
  }
  return ReadInt64(iter, what);
}

std::vector<uint8_t> ReadBinary(const bson_iter_t& iter, std::string_view what) {
  if (BSON_ITER_HOLDS_NULL(&iter)) {
    return {};
  }
  if (!BSON_ITER_HOLDS_BINARY(&iter)) {
    WrongType(iter, what, "binary data");
  }
  bson_subtype_t subtype = BSON_SUBTYPE_BINARY;
  uint32_t length = 0;
  const uint8_t* data = nullptr;
  bson_iter_binary(&iter, &subtype, &length, &data);
  return std::vector<uint8_t>(data, data + length);
}

bson_iter_t ReadChildren(const bson_iter_t& iter, std::string_view what) {
  if (!BSON_ITER_HOLDS_DOCUMENT(&iter) && !BSON_ITER_HOLDS_ARRAY(&iter)) {
    WrongType(iter, what, "a document or array");
  }
  bson_iter_t children;
  if (!bson_iter_recurse(&iter, &children)) {
    throw Error(ErrorCode::kInternal, std::string(what) + ": corrupt BSON");
  }
  return children;
}

std::optional<bson_iter_t> FindField(const bson_t* doc, const char* key) {
  bson_iter_t iter;
  if (bson_iter_init_find(&iter, doc, key)) {
    return iter;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Driver handles

const bson_t* MongoCursor::Next() {
  const bson_t* document = nullptr;
  if (mongoc_cursor_next(cursor_, &document)) {
    return document;
  }
  bson_error_t error;
  if (mongoc_cursor_error(cursor_, &error)) {
    ThrowMongoError(target_, error, what_);
  }
  return nullptr;
}

void MongoCollection::Fail(const bson_error_t& error, std::string_view operation) const {
  ThrowMongoError(target_, error, std::string(operation) + " " + std::string(Name()));
}

void MongoCollection::InsertOne(const Bson& document, const bson_t* options) {
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_insert_one(collection_, document.Get(), options, &reply.doc, &error)) {
    Fail(error, "insert into");
  }
}

std::optional<Bson> MongoCollection::FindOne(const Bson& filter, const bson_t* projection) {
  Bson options;
  options.Int64("limit", 1);
  if (projection != nullptr) {
    options.CopyDocument("projection", projection);
  }
  MongoCursor cursor = Find(filter, options);
  const bson_t* document = cursor.Next();
  if (document == nullptr) {
    return std::nullopt;
  }
  return Bson(document);
}

MongoCursor MongoCollection::Find(const Bson& filter, const Bson& options) {
  return MongoCursor(
      mongoc_collection_find_with_opts(collection_, filter.Get(), options.Get(), nullptr),
      target_,
      "read " + std::string(Name()));
}

MongoCursor MongoCollection::Aggregate(const Bson& pipeline) {
  return MongoCursor(
      mongoc_collection_aggregate(collection_, MONGOC_QUERY_NONE, pipeline.Get(), nullptr, nullptr),
      target_,
      "aggregate " + std::string(Name()));
}

int64_t MongoCollection::UpdateOne(const Bson& filter, const Bson& update, bool upsert) {
  Bson options;
  if (upsert) {
    options.Bool("upsert", true);
  }
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_update_one(
          collection_, filter.Get(), update.Get(), options.Get(), &reply.doc, &error)) {
    Fail(error, "update");
  }
  return ReplyCount(reply.doc, "matchedCount");
}

std::optional<Bson> MongoCollection::FindOneAndUpdate(const Bson& filter,
                                                      const Bson& update,
                                                      bool upsert) {
  mongoc_find_and_modify_opts_t* options = mongoc_find_and_modify_opts_new();
  mongoc_find_and_modify_opts_set_update(options, update.Get());
  mongoc_find_and_modify_opts_set_flags(
      options,
      static_cast<mongoc_find_and_modify_flags_t>(MONGOC_FIND_AND_MODIFY_RETURN_NEW |
                                                  (upsert ? MONGOC_FIND_AND_MODIFY_UPSERT : 0)));
  Reply reply;
  bson_error_t error;
  const bool ok = mongoc_collection_find_and_modify_with_opts(
      collection_, filter.Get(), options, &reply.doc, &error);
  mongoc_find_and_modify_opts_destroy(options);
  if (!ok) {
    Fail(error, "findAndModify in");
  }
  bson_iter_t iter;
  if (!bson_iter_init_find(&iter, &reply.doc, "value") || !BSON_ITER_HOLDS_DOCUMENT(&iter)) {
    return std::nullopt;
  }
  uint32_t length = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(&iter, &length, &data);
  bson_t value;
  if (!bson_init_static(&value, data, length)) {
    throw Error(ErrorCode::kInternal, "findAndModify in " + std::string(Name()) + ": bad reply");
  }
  return Bson(&value);
}

int64_t MongoCollection::ReplaceOne(const Bson& filter,
                                    const Bson& replacement,
                                    const bson_t* options) {
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_replace_one(
          collection_, filter.Get(), replacement.Get(), options, &reply.doc, &error)) {
    Fail(error, "replace in");
  }
  return ReplyCount(reply.doc, "matchedCount");
}

int64_t MongoCollection::DeleteOne(const Bson& filter) {
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_delete_one(collection_, filter.Get(), nullptr, &reply.doc, &error)) {
    Fail(error, "delete from");
  }
  return ReplyCount(reply.doc, "deletedCount");
}

int64_t MongoCollection::DeleteMany(const Bson& filter) {
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_delete_many(collection_, filter.Get(), nullptr, &reply.doc, &error)) {
    Fail(error, "delete from");
  }
  return ReplyCount(reply.doc, "deletedCount");
}

int64_t MongoCollection::Count(const Bson& filter) {
  bson_error_t error;
  const int64_t count = mongoc_collection_count_documents(
      collection_, filter.Get(), nullptr, nullptr, nullptr, &error);
  if (count < 0) {
    Fail(error, "count");
  }
  return count;
}

std::vector<std::string> MongoCollection::DistinctStrings(const char* key) {
  Bson command;
  command.Utf8("distinct", Name()).Utf8("key", key);
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_read_command_with_opts(
          collection_, command.Get(), nullptr, nullptr, &reply.doc, &error)) {
    Fail(error, "distinct of");
  }
  std::vector<std::string> values;
  bson_iter_t iter;
  if (bson_iter_init_find(&iter, &reply.doc, "values")) {
    bson_iter_t value = ReadChildren(iter, "distinct values");
    while (bson_iter_next(&value)) {
      if (BSON_ITER_HOLDS_UTF8(&value)) {
        values.push_back(ReadUtf8(value, "distinct value"));
      }
    }
  }
  return values;
}

Bson MongoCollection::RunCommand(const Bson& command) {
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_write_command_with_opts(
          collection_, command.Get(), nullptr, &reply.doc, &error)) {
    Fail(error, "command on");
  }
  return Bson(&reply.doc);
}

bool BulkInsert::Add(const Bson& document) {
  if (bulk_ == nullptr) {
    Bson options;
    options.Bool("ordered", false);  // one batch, one data id: order does not matter
    bulk_ = mongoc_collection_create_bulk_operation_with_opts(collection_.Get(), options.Get());
  }
  bson_error_t error;
  if (!mongoc_bulk_operation_insert_with_opts(bulk_, document.Get(), nullptr, &error)) {
    ThrowMongoError(
        collection_.Target(), error, "queue insert into " + std::string(collection_.Name()));
  }
  ++documents_;
  bytes_ += document.SizeBytes();
  if (documents_ >= kMaxDocuments || bytes_ >= kMaxBytes) {
    Flush();
    return true;
  }
  return false;
}

void BulkInsert::Flush() {
  if (bulk_ == nullptr) {
    return;
  }
  Reply reply;
  bson_error_t error;
  const uint32_t ok = mongoc_bulk_operation_execute(bulk_, &reply.doc, &error);
  mongoc_bulk_operation_destroy(bulk_);
  bulk_ = nullptr;
  documents_ = 0;
  bytes_ = 0;
  if (ok == 0) {
    ThrowMongoError(collection_.Target(), error, "insert into " + std::string(collection_.Name()));
  }
}

void MongoClient::Ping() const {
  Bson command;
  command.Int32("ping", 1);
  Reply reply;
  bson_error_t error;
  if (!mongoc_client_command_simple(client_, "admin", command.Get(), nullptr, &reply.doc, &error)) {
    ThrowMongoError(target_, error, "ping");
  }
}

MongoDatabase::MongoDatabase(const std::string& uri) {
  InitMongoDriver();
  target_.redacted_uri = RedactMongoUri(uri);
  bson_error_t error;
  parsing_uri = true;
  uri_ = mongoc_uri_new_with_error(uri.c_str(), &error);
  parsing_uri = false;
  if (uri_ == nullptr) {
    throw Error(ErrorCode::kInvalidInput,
                "--store " + target_.redacted_uri +
                    ": not a valid MongoDB URI: " + HideUriSecrets(error.message, uri));
  }
  const char* database = mongoc_uri_get_database(uri_);
  if (database == nullptr || *database == '\0') {
    mongoc_uri_destroy(uri_);
    throw Error(ErrorCode::kInvalidInput,
                "--store " + target_.redacted_uri +
                    ": expected a database name, as in mongodb://HOST:PORT/DB");
  }
  name_ = database;

  const std::array<std::pair<const char*, int32_t>, 3> defaults = {{
      {MONGOC_URI_SERVERSELECTIONTIMEOUTMS, kDefaultServerSelectionTimeoutMs},
      {MONGOC_URI_CONNECTTIMEOUTMS, kDefaultConnectTimeoutMs},
      {MONGOC_URI_SOCKETTIMEOUTMS, kDefaultSocketTimeoutMs},
  }};
  for (const auto& [option, value] : defaults) {
    if (!mongoc_uri_has_option(uri_, option)) {
      mongoc_uri_set_option_as_int32(uri_, option, value);
    }
  }
  target_.server_selection_timeout_ms = mongoc_uri_get_option_as_int32(
      uri_, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, kDefaultServerSelectionTimeoutMs);
  for (const mongoc_host_list_t* host = mongoc_uri_get_hosts(uri_); host != nullptr;
       host = host->next) {
    if (!target_.hosts.empty()) {
      target_.hosts += ",";
    }
    target_.hosts += host->host_and_port;
  }
  if (target_.hosts.empty() && mongoc_uri_get_srv_hostname(uri_) != nullptr) {
    target_.hosts = mongoc_uri_get_srv_hostname(uri_);  // mongodb+srv://: resolved later
  }

  pool_ = mongoc_client_pool_new_with_error(uri_, &error);
  if (pool_ == nullptr) {
    mongoc_uri_destroy(uri_);
    throw Error(ErrorCode::kInvalidInput,
                "--store " + target_.redacted_uri + ": " + HideUriSecrets(error.message, uri));
  }
  mongoc_client_pool_set_error_api(pool_, MONGOC_ERROR_API_VERSION_2);
  const std::string appname = "phytoflow " + std::string(Version());
  mongoc_client_pool_set_appname(pool_, appname.c_str());
}

MongoDatabase::~MongoDatabase() {
  mongoc_client_pool_destroy(pool_);
  mongoc_uri_destroy(uri_);
}

std::string HideUriSecrets(std::string_view message, std::string_view uri) {
  std::string hidden(message);
  for (const auto& [begin, end] : SecretRanges(uri)) {
    const std::string_view raw = uri.substr(begin, end - begin);
    for (const std::string& secret : {std::string(raw), PercentDecoded(raw)}) {
      if (secret.empty()) {
        continue;
      }
      for (size_t at = hidden.find(secret); at != std::string::npos;
           at = hidden.find(secret, at + 3)) {
        hidden.replace(at, secret.size(), "***");
      }
    }
  }
  return hidden;
}

std::string NewRandomId() {
  // From the OS each time: a forked child must not repeat its parent's ids.
  static std::mutex mutex;
  static std::random_device device;
  std::array<uint32_t, 4> parts{};
  {
    std::lock_guard lock(mutex);
    for (uint32_t& part : parts) {
      part = device();
    }
  }
  char text[33];
  std::snprintf(text, sizeof text, "%08x%08x%08x%08x", parts[0], parts[1], parts[2], parts[3]);
  return text;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace phytoflow::detail

namespace phytoflow {

std::string RedactMongoUri(std::string_view uri) {
  std::string redacted;
  size_t copied = 0;
  for (const auto& [begin, end] : detail::SecretRanges(uri)) {
    redacted += uri.substr(copied, begin - copied);
    redacted += "***";
    copied = end;
  }
  redacted += uri.substr(copied);
  return redacted;
}

}  // namespace phytoflow
